"""Malformed inputs to every data/train/prior/IDM/run verb, through `steve1.cli.main(argv)`.

For each: the exit status is not 0, stderr ends with a one-line `error:` message (no traceback), no new
non-hidden file appears (no episode, weights, sampling, video or result) and no temporary file is left, and
no pickle payload ran (the malicious pickles would create a marker file). A summary line is printed:
`fuzz: N inputs, N clear errors, 0 written`.
"""
from __future__ import annotations

import builtins
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from steve1.cli import main as cli_main
from steve1.data.episode import EpisodeWriter

MIN_CASES = 40


class Payload:
    """Unpickling this calls open(marker, "w"): the marker file appears if the payload ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


@dataclass
class Case:
    name: str
    argv: list[str]


def _video(path: Path, n: int = 40, size: int = 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20, (size, size))
    rng = np.random.default_rng(0)
    for _ in range(n):
        writer.write(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    writer.release()
    return path


def _episode(d: Path, name: str, n: int = 60) -> Path:
    with EpisodeWriter(d, key=name) as w:
        w.add_frames(np.zeros((n, 128, 128, 3), np.uint8))
        w.add_actions([{}] * n)
        w.add_embeds([None] * 15 + [np.zeros((1, 512), np.float32)] * (n - 15))
        return w.finish(name)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def build_cases(root: Path, marker: Path) -> list[Case]:
    inp, out = root / "in", root / "out"
    inp.mkdir()
    blocker = inp / "a_file"  # outputs "under" a regular file cannot be created (root ignores permissions)
    blocker.write_text("x")
    unwritable = str(blocker / "sub")
    random_bytes = inp / "random.bin"
    random_bytes.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    evil_pkl = inp / "evil.pkl"
    evil_pkl.write_bytes(pickle.dumps(Payload(marker)))
    evil_pt = inp / "evil.pt"
    torch.save({"policy": Payload(marker)}, evil_pt)
    random_pkl = inp / "random.pkl"
    random_pkl.write_bytes(random_bytes.read_bytes())
    random_pt = inp / "random.pt"
    random_pt.write_bytes(random_bytes.read_bytes())
    good_pt = inp / "good.pt"
    torch.save({"x": torch.zeros(3)}, good_pt)
    truncated_pt = inp / "truncated.pt"
    truncated_pt.write_bytes(good_pt.read_bytes()[:200])
    empty_file = inp / "empty.bin"
    empty_file.write_bytes(b"")

    # videos
    good_video = _video(inp / "good_video" / "a.mp4")
    empty_dir = inp / "empty_dir"
    empty_dir.mkdir()
    corrupt_dir, truncated_dir, zero_dir = inp / "corrupt_video", inp / "truncated_video", inp / "zero_video"
    for d in (corrupt_dir, truncated_dir, zero_dir):
        d.mkdir()
    (corrupt_dir / "a.mp4").write_bytes(random_bytes.read_bytes())
    (truncated_dir / "a.mp4").write_bytes(good_video.read_bytes()[: good_video.stat().st_size // 3])
    (zero_dir / "a.mp4").write_bytes(b"")

    # episodes for create-sampling
    bad_video_ds, evil_ds, random_pkl_ds = inp / "ds_bad_video", inp / "ds_evil", inp / "ds_random_pkl"
    (_episode(bad_video_ds, "e0") / "frames.mp4").write_bytes(b"\0" * 1000)
    (_episode(evil_ds, "e0") / "actions.pkl").write_bytes(evil_pkl.read_bytes())
    (_episode(random_pkl_ds, "e0") / "embeds_attn.pkl").write_bytes(random_bytes.read_bytes())

    # a contractor release whose every episode is corrupt (video bytes random, jsonl truncated or empty)
    release = inp / "release"
    (release / "data").mkdir(parents=True)
    rel = []
    for i, (video, jsonl) in enumerate([(random_bytes.read_bytes(), b'{"mouse": {"dx": 0'),
                                        (b"", b""), (good_video.read_bytes()[:500], b"not json\n" * 40)]):
        (release / "data" / f"e{i}.mp4").write_bytes(video)
        (release / "data" / f"e{i}.jsonl").write_bytes(jsonl)
        rel.append(f"e{i}.mp4")
    (release / "index.json").write_text(json.dumps({"basedir": (release / "data").as_uri() + "/",
                                                    "relpaths": rel}))
    bad_index = inp / "bad_index.json"
    bad_index.write_text("{not json")

    # training YAMLs
    yaml_types = inp / "types.yaml"
    yaml_types.write_text("batch_size: lots\nT: [1, 2]\n")
    yaml_list = inp / "list.yaml"
    yaml_list.write_text("- 1\n- 2\n")
    yaml_syntax = inp / "syntax.yaml"
    yaml_syntax.write_text("batch_size: [1, 2\n")
    yaml_unknown = inp / "unknown.yaml"
    yaml_unknown.write_text("no_such_setting: 3\n")

    # prior data
    prior_truncated = inp / "prior_truncated.pkl"
    prior_truncated.write_bytes(pickle.dumps({"text_embeddings": [np.zeros((1, 512))] * 10})[:100])
    prior_types = inp / "prior_types.pkl"
    prior_types.write_bytes(pickle.dumps({"text_embeddings": "abc", "visual_embeddings": 3}))
    prior_good = inp / "prior_good.pkl"
    rng = np.random.default_rng(0)
    text, visual = rng.standard_normal((2, 60, 512)).astype(np.float32)
    prior_good.write_bytes(pickle.dumps({"text_embeddings": text, "visual_embeddings": visual}))

    def sampling(*extra):
        return ["create-sampling", "--output_dir", str(out / "samplings"), *extra]

    def contractor(*extra):
        return ["convert-contractor", "--index", "9.x", "--index_url", (release / "index.json").as_uri(),
                "--output_dir", str(out / "episodes"), "--cache_dir", str(out / "cache"),
                "--min_timesteps", "5", "--mineclip_config", "fake", "--no_progress", "--num_episodes", "-1",
                "--retries", "0", *extra]

    def label(video_dir, *extra):
        return ["label-video", "--video_dir", str(video_dir), "--output_dir", str(out / "idm"), "--idm_model",
                "tiny", "--idm_weights", "random", "--mineclip_config", "fake", "--device", "cpu",
                "--no_progress", "--window", "16", "--stride", "8", *extra]

    def train(*extra):
        return ["train", "--config", "tiny", "--checkpoint_dir", str(out / "ckpt"), "--out_weights",
                str(out / "w" / "tiny.weights"), "--sampling_dir", str(inp / "no_samplings"), "--num_workers",
                "0", *extra]

    def prior(data, *extra):
        return ["train-prior", "--data_path", str(data), "--output_path", str(out / "prior" / "prior.pt"),
                "--n_epochs", "1", "--n_validation", "10", "--device", "cpu", *extra]

    def agent(*extra):
        return ["run-agent", "--out-dir", str(out / "videos"), "--random-weights", "--policy", "tiny",
                "--mineclip", "tiny", "--device", "cpu", "--steps", "5", *extra]

    def released_agent(weights):  # load this file as every weight file instead of building random models
        return ["run-agent", "--out-dir", str(out / "videos"), "--policy", "tiny", "--device", "cpu",
                "--steps",
                "5", "--weights", weights, "--mineclip-weights", weights, "--prior-weights", weights]

    return [
        Case("create-sampling --train_frames -5", sampling("--dataset_dirs", str(evil_ds),
                                                           "--train_frames", "-5")),
        Case("create-sampling --val_frames -1",
             sampling("--dataset_dirs", str(evil_ds), "--val_frames", "-1")),
        Case("create-sampling --T 0", sampling("--dataset_dirs", str(evil_ds), "--T", "0")),
        Case("create-sampling missing dataset dir", sampling("--dataset_dirs", str(inp / "nope"))),
        Case("create-sampling empty dataset dir", sampling("--dataset_dirs", str(empty_dir))),
        Case("create-sampling unwritable output", ["create-sampling", "--dataset_dirs", str(evil_ds),
                                                   "--output_dir", unwritable]),
        Case("create-sampling episode with corrupt mp4",
             sampling("--dataset_dirs", str(bad_video_ds), "--T", "16", "--train_frames", "10",
                      "--val_frames", "0")),
        Case("create-sampling episode with malicious actions.pkl",
             sampling("--dataset_dirs", str(evil_ds), "--T", "16", "--train_frames", "10",
                      "--val_frames", "0")),
        Case("create-sampling episode with random-bytes embeds pickle",
             sampling("--dataset_dirs", str(random_pkl_ds), "--T", "16", "--train_frames", "10",
                      "--val_frames", "0")),
        Case("create-sampling --train_frames not a number", sampling("--train_frames", "many")),
        Case("convert-contractor --num_episodes 0", contractor("--num_episodes", "0")),
        Case("convert-contractor --num_episodes -2", contractor("--num_episodes", "-2")),
        Case("convert-contractor --batch_size 0", contractor("--batch_size", "0")),
        Case("convert-contractor --worker_id 3 of 2", contractor("--num_workers", "2", "--worker_id", "3")),
        Case("convert-contractor unwritable output", contractor("--output_dir", unwritable)),
        Case("convert-contractor corrupt/truncated/empty mp4 and jsonl", contractor("--num_workers", "1")),
        Case("convert-contractor index not JSON", contractor("--index_url", bad_index.as_uri())),
        Case("label-video empty folder", label(empty_dir)),
        Case("label-video corrupt mp4", label(corrupt_dir)),
        Case("label-video truncated mp4", label(truncated_dir)),
        Case("label-video empty mp4", label(zero_dir)),
        Case("label-video missing folder", label(inp / "nope")),
        Case("label-video --window 0", label(good_video.parent, "--window", "0")),
        Case("label-video --stride 0", label(good_video.parent, "--stride", "0")),
        Case("label-video --target_fps nan", label(good_video.parent, "--target_fps", "nan")),
        Case("label-video random-bytes weights", label(good_video.parent, "--idm_weights", str(random_pt))),
        Case("label-video malicious weights", label(good_video.parent, "--idm_weights", str(evil_pt))),
        Case("label-video truncated weights", label(good_video.parent, "--idm_weights", str(truncated_pt))),
        Case("label-video wrong weights (other model)",
             label(good_video.parent, "--idm_weights", str(good_pt))),
        Case("label-video random-bytes .model", label(good_video.parent, "--idm_model", str(random_bytes))),
        Case("label-video malicious .model", label(good_video.parent, "--idm_model", str(evil_pkl))),
        Case("label-video unwritable output", label(good_video.parent, "--output_dir", unwritable)),
        Case("train YAML with wrong types", train("--config", str(yaml_types))),
        Case("train YAML that is a list", train("--config", str(yaml_list))),
        Case("train YAML syntax error", train("--config", str(yaml_syntax))),
        Case("train YAML unknown key", train("--config", str(yaml_unknown))),
        Case("train --batch_size 0", train("--batch_size", "0")),
        Case("train --n_frames -1", train("--n_frames", "-1")),
        Case("train --batch_size not a number", train("--batch_size", "abc")),
        Case("train missing sampling", train()),
        Case("train unwritable checkpoint_dir", train("--checkpoint_dir", unwritable)),
        Case("train unwritable out_weights", train("--out_weights", unwritable + "/x.weights")),
        Case("train-prior random-bytes data.pkl", prior(random_bytes)),
        Case("train-prior malicious data.pkl", prior(evil_pkl)),
        Case("train-prior truncated data.pkl", prior(prior_truncated)),
        Case("train-prior empty data.pkl", prior(empty_file)),
        Case("train-prior data.pkl of wrong types", prior(prior_types)),
        Case("train-prior missing data.pkl", prior(inp / "nope.pkl")),
        Case("train-prior output under /proc", prior(prior_good, "--output_path", "/proc/x/p.pt")),
        Case("train-prior unwritable output", prior(prior_good, "--output_path", unwritable + "/p.pt")),
        Case("train-prior --batch_size 0", prior(prior_good, "--batch_size", "0")),
        Case("train-prior --lr nan", prior(prior_good, "--lr", "nan")),
        Case("train-prior --n_epochs -1", prior(prior_good, "--n_epochs", "-1")),
        Case("run-agent --n-worlds 0", agent("--n-worlds", "0")),
        Case("run-agent --max-retries -1", agent("--max-retries", "-1")),
        Case("run-agent --cond-scale nan", agent("--cond-scale", "nan")),
        Case("run-agent --cond-scale inf", agent("--cond-scale", "inf")),
        Case("run-agent --steps 0", agent("--steps", "0")),
        Case("run-agent --episodes -1", agent("--episodes", "-1")),
        Case("run-agent empty prompt", agent("--prompt", "")),
        Case("run-agent blank prompt", agent("--prompt", "   \t ")),
        Case("run-agent huge prompt", agent("--prompt", "dig " * 5000)),
        Case("run-agent emoji prompt, unwritable out-dir", agent("--prompt", "\U0001F332" * 200, "--out-dir",
                                                                 unwritable)),
        Case("run-agent random-bytes visual prompt", agent("--visual", str(random_pkl))),
        Case("run-agent malicious visual prompt", agent("--visual", str(evil_pkl))),
        Case("run-agent corrupt video visual prompt", agent("--visual", str(corrupt_dir / "a.mp4"))),
        Case("run-agent random-bytes weights", released_agent(str(random_pt))),
        Case("run-agent malicious weights", released_agent(str(evil_pt))),
        Case("eval-report missing CSV",
             ["eval-report", str(inp / "nope.csv"), "--out_dir", str(out / "report")]),
        Case("eval-report random-bytes CSV", ["eval-report", str(random_pkl), "--out_dir",
                                              str(out / "report")]),
        Case("unknown verb", ["no-such-verb"]),
    ]


def _bookkeeping(relpath: str) -> bool:
    """Files that are no output: the contractor tool's download cache and its hidden ledger of episodes
    found corrupt (so that the next run does not download them again)."""
    return relpath.startswith("out/cache/") or Path(relpath).name.startswith(".contractor_skipped")


def _run(argv: list[str]) -> int | str:
    """The exit status, or the exception that escaped `main` (a crash: always a failure here)."""
    try:
        return int(cli_main(argv) or 0)
    except SystemExit as e:  # argparse, or a verb ending with a message
        return e.code if isinstance(e.code, int) else 1
    except Exception as e:  # noqa: BLE001  (reported below as an uncaught exception)
        return f"uncaught {type(e).__name__}: {e}"


def test_malformed_inputs_give_one_clear_error_and_write_nothing(tmp_path, capfd, pytestconfig, monkeypatch):
    monkeypatch.delenv("STEVE1_TRACEBACK", raising=False)
    marker = tmp_path / "PAYLOAD_RAN"
    cases = build_cases(tmp_path, marker)
    assert len(cases) >= MIN_CASES
    problems, clear, written = [], 0, 0
    for case in cases:
        before = _files(tmp_path)
        capfd.readouterr()
        code = _run(case.argv)
        err = capfd.readouterr().err
        new = sorted(_files(tmp_path) - before)
        new_outputs = [p for p in new if not _bookkeeping(p)]
        lines = [ln for ln in err.splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        one_line_error = ("error:" in last) and "Traceback" not in err
        if os.environ.get("FUZZ_SHOW"):
            with capfd.disabled():
                print(f"{case.name}: {code} {last[:150]}")
        if isinstance(code, int) and code != 0 and one_line_error:
            clear += 1
        else:
            problems.append(f"{case.name}: exit {str(code)[:300]}, stderr ends {last[-200:]!r}"
                            + (" (traceback)" if "Traceback" in err else ""))
        if new_outputs:
            written += 1
            problems.append(f"{case.name}: wrote {new_outputs[:5]}")
        if marker.exists():
            problems.append(f"{case.name}: the pickle payload ran")
            marker.unlink()
        for leftover in ("out/episodes", "out/idm", "out/cache"):  # each case starts from empty outputs
            if (tmp_path / leftover).exists():
                import shutil

                shutil.rmtree(tmp_path / leftover)
    with capfd.disabled():
        print(f"\nfuzz: {len(cases)} inputs, {clear} clear errors, {written} written")
    assert not problems, "\n".join(problems)


@pytest.fixture(autouse=True)
def _quiet_threads():
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(2)
    os.environ.pop("XAUTHORITY", None)
