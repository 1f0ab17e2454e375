"""A resumable pipeline of stages, each writing into its own folder `<out>/<nn>_<name>/`.

A stage is finished when its folder holds `done.json` (written atomically, last): its seconds, its outputs
and a small result dict. A rerun skips finished stages and runs the rest. Once a stage runs, every later
stage runs again (their inputs may have changed), unless the stage `feeds_later=False` (nothing after it
reads its outputs). `from_stage` reruns that stage and all after it. A stage
that is not `keeps_partial` starts from an empty folder; one that is (training with its own checkpoints)
keeps what an interrupted run left so that it can resume.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from steve1.utils.atomic import atomic_write_text

DONE_FILE = "done.json"


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[StageContext], dict]  # returns {"outputs": [paths], ...any JSON-able result}
    description: str = ""
    keeps_partial: bool = False
    feeds_later: bool = True  # later stages read its outputs: running it reruns them


@dataclass
class StageContext:
    """What a stage sees: its own folder, the folders and results of the stages before it, shared settings."""

    out: Path
    dir: Path
    settings: object
    results: dict[str, dict] = field(default_factory=dict)  # name -> done.json of earlier stages
    dirs: dict[str, Path] = field(default_factory=dict)  # name -> folder of every stage


@dataclass
class StageRecord:
    name: str
    dir: Path
    seconds: float
    skipped: bool  # finished by an earlier run
    result: dict


def stage_dir(out: Path, index: int, name: str) -> Path:
    return Path(out) / f"{index + 1:02d}_{name}"


def read_done(directory: Path) -> dict | None:
    path = directory / DONE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # cannot happen with atomic writes; treat as unfinished


def run_stages(stages: Sequence[Stage], out: str | Path, settings: object, from_stage: str | None = None,
               log: Callable[[str], None] | None = None) -> list[StageRecord]:
    """Run the stages in order (skipping finished ones); returns one record per stage."""
    log = log or logging.getLogger("steve1.quickstart").info
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names repeat: {names}")
    if from_stage is not None and from_stage not in names:
        raise ValueError(f"unknown stage {from_stage!r}; stages are: {', '.join(names)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dirs = {s.name: stage_dir(out, i, s.name) for i, s in enumerate(stages)}
    records: list[StageRecord] = []
    results: dict[str, dict] = {}
    rerun = False  # once a stage runs, all later stages run too
    for i, stage in enumerate(stages):
        d = dirs[stage.name]
        rerun = rerun or stage.name == from_stage
        done = None if rerun else read_done(d)
        header = f"[{i + 1}/{len(stages)}] {stage.name}"
        if done is not None:
            log(f"{header}: done in an earlier run ({done.get('seconds', 0):.1f} s), skipped")
            results[stage.name] = done
            records.append(StageRecord(stage.name, d, float(done.get("seconds", 0.0)), True, done))
            continue
        rerun = rerun or stage.feeds_later
        (d / DONE_FILE).unlink(missing_ok=True)
        if d.exists() and not stage.keeps_partial:
            shutil.rmtree(d)
        d.mkdir(parents=True, exist_ok=True)
        log(f"{header}: {stage.description or stage.name}")
        t0 = time.perf_counter()
        result = stage.run(StageContext(out, d, settings, dict(results), dict(dirs))) or {}
        seconds = time.perf_counter() - t0
        done = {"stage": stage.name, "seconds": round(seconds, 2), "finished_at": time.time(), **result}
        done.setdefault("outputs", [])
        atomic_write_text(d / DONE_FILE, json.dumps(done, indent=1, default=str))
        log(f"{header}: finished in {seconds:.1f} s -> {d}")
        results[stage.name] = done
        records.append(StageRecord(stage.name, d, seconds, False, done))
    return records
