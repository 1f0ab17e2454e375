"""Shared by the video runners: goal jobs -> episodes over the worlds -> `<stem>.mp4` + `<stem>.{csv,json}`.

Each episode writes its result row (`steve1.eval.results`) next to its video, then the video (which is what
marks the episode as made: existing videos are skipped on the next run, as the original). After the run,
`episodes.csv` / `episodes.json` in the output folder collect the rows of every episode there.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from steve1 import paths
from steve1.agent.agent import Steve1Agent
from steve1.agent.models import AgentModels
from steve1.cli_config import settings_field
from steve1.eval.results import write_episode_results, write_rows_csv, write_rows_json
from steve1.run.common import DTYPES, banner, existing, generator, world_factory
from steve1.run.episodes import EpisodeJob, EpisodeResult, EpisodeRunner, RunConfig
from steve1.utils.checks import check_file_name
from steve1.utils.run_record import RECORD_NAME, check_or_record

log = logging.getLogger("steve1.run")
EPISODES_STEM = "episodes"


def results_stem(video_path: Path) -> Path:
    return video_path.with_suffix("")


# the settings that shape every video and result of a runner (recorded in the output folder, see
# steve1.utils.run_record); which prompts or how many episodes are run is a choice of outputs, not listed
MODEL_OUTPUT_SETTINGS = ("policy", "weights", "mineclip", "mineclip_weights", "prior_weights",
                         "random_weights", "dtype", "seed", "world", "fast")
VIDEO_OUTPUT_SETTINGS = ("steps", "fps", "full_res_video", *MODEL_OUTPUT_SETTINGS)


def check_output_settings(args, names: Sequence[str], record: str = RECORD_NAME) -> bool:
    """Record the settings `names` of `args` in `args.out_dir`/`record`, or refuse when what is there was
    made with others (unless `args.overwrite`, which then remakes every selected output). True: resumed."""
    return check_or_record(args.out_dir, {k: getattr(args, k) for k in names}, redo_flag="--overwrite",
                           redo=args.overwrite, name=record)


def pending_jobs(jobs: Sequence[EpisodeJob], redo: bool = False) -> list[EpisodeJob]:
    """The jobs whose video does not exist yet (existing ones are skipped, as the original); all with redo."""
    todo = []
    for job in jobs:
        if not redo and job.video_path is not None and existing(job.video_path):
            log.info("skipping %s: %s exists", job.key, job.video_path)
        else:
            todo.append(job)
    return todo


def collect_rows(out_dir: Path) -> list[dict]:
    """Result rows of every episode in `out_dir` (its per-episode `<stem>.json` files)."""
    rows = []
    for path in sorted(out_dir.glob("*.json")):
        if path.stem == EPISODES_STEM:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            log.warning("ignoring unreadable result file %s", path)
            continue
        if isinstance(data, list) and all(isinstance(r, dict) and "episode" in r for r in data):
            rows.extend(data)
    return rows


def run_video_jobs(args, models: AgentModels, jobs: Sequence[EpisodeJob],
                   out_dir: Path) -> int:
    """Run the jobs (skipping made videos unless args.overwrite); returns the process exit status (1 if an
    episode failed)."""
    for job in jobs:  # before any world starts
        if job.video_path is not None:
            check_file_name(job.video_path, f"episode {job.key[:40]!r}")
    todo = pending_jobs(jobs, redo=args.overwrite)
    failures: list[tuple[str, str]] = []
    if todo:
        n_worlds = max(1, min(args.n_worlds, len(todo)))
        agent = Steve1Agent(models.policy, n_worlds=n_worlds, generator=generator(args.seed),
                            autocast_dtype=DTYPES[args.dtype])

        def done(result: EpisodeResult) -> None:
            row = result.row()
            row["video"] = str(result.job.video_path)
            write_episode_results([row], results_stem(result.job.video_path))
            metrics = ", ".join(f"{k}={v:g}" for k, v in result.metrics.items())
            log.info("episode %s done in %.0f s: %s -> %s", result.job.key, result.wall_s, metrics,
                     result.job.video_path)

        cfg = RunConfig(video_size=None if args.full_res_video else (128, 128), video_fps=args.fps,
                        banner=banner(models), max_retries=args.max_retries)
        runner = EpisodeRunner(agent, world_factory(args), cfg, on_done=done)
        try:
            failures = runner.run(todo)
        finally:
            runner.close()
    rows = collect_rows(out_dir)
    if rows:
        write_rows_csv(rows, out_dir / f"{EPISODES_STEM}.csv")
        write_rows_json(rows, out_dir / f"{EPISODES_STEM}.json")
        log.info("%d episode results in %s", len(rows), out_dir / f"{EPISODES_STEM}.csv")
    for key, message in failures:
        log.error("not made: %s (%s)", key, message)
    return 1 if failures else 0


@dataclass
class VideoSettings:
    """Episodes and their videos."""

    steps: int = settings_field(default=1000, alias=["--gameplay-length"])
    """steps per episode"""
    out_dir: Path = settings_field(default=paths.GENERATED_VIDEOS_DIR, alias=["--save-dirpath"])
    """where videos and results go"""
    fps: float = 30.0
    """video frame rate (original: 30)"""
    full_res_video: bool = False
    """save the game's full frames instead of 128x128 (the original's video size)"""
    overwrite: bool = False
    """remake the videos in --out-dir even if they exist (needed when they were made with other settings)"""
