"""Outputs: prompt file names are bounded, readable and unique; a failed video write reports its own error;
temporary videos of killed writers are removed by the next writer; a finished prior is not retrained."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from steve1.eval.video import VideoStream, write_video
from steve1.run.common import FILE_NAME_BYTES, safe_file_name
from steve1.run.episodes import EpisodeJob, GoalPlan
from steve1.run.videos import run_video_jobs
from steve1.utils.atomic import tmp_sibling
from steve1.utils.checks import NAME_MAX_BYTES
from steve1.utils.video import VideoError

FRAMES = np.zeros((3, 32, 32, 3), np.uint8)


def _video_name(prompt: str) -> str:  # as run-agent names a text prompt's video
    return f"'{safe_file_name(prompt)}' - Text Prompt (episode 12).mp4"


def test_prompt_file_names_are_bounded_unique_and_readable(tmp_path):
    start = "build a tall tower of dirt blocks next to the lake " * 4
    long_a, long_b = start + "then jump off", start + "then dig down"
    assert safe_file_name(long_a) != safe_file_name(long_b)  # same first 120 characters, different names
    assert safe_file_name(long_a).startswith("build a tall tower")
    assert safe_file_name("chop a tree") == "chop a tree"  # a short plain prompt is kept as it is
    assert safe_file_name("a/b") != safe_file_name("a_b")
    for prompt in (long_a, "\U0001F332" * 200, "é" * 300, "x" * 10_000, "../../etc/passwd", ".hidden"):
        name = safe_file_name(prompt)
        assert len(name.encode()) <= FILE_NAME_BYTES + 9 and "/" not in name and not name.startswith(".")
        video = tmp_path / _video_name(prompt)
        assert len(tmp_sibling(video, ".mp4").name.encode()) <= NAME_MAX_BYTES
        write_video(FRAMES, video)  # the name works on a real file system, temp name included
        assert video.is_file()


def test_too_long_video_name_is_refused_before_any_world_starts(tmp_path):
    job = EpisodeJob(key="k", plan=GoalPlan.single(np.zeros(512), "p"), cond_scale=6.0, n_steps=5,
                     video_path=tmp_path / ("\U0001F332" * 60 + ".mp4"))
    with pytest.raises(ValueError, match="bytes"):
        run_video_jobs(None, None, [job], tmp_path)  # no args or models needed: it stops first


def test_failed_video_write_reports_its_own_error_not_the_cleanup_one(tmp_path):
    with pytest.raises(VideoError, match="cannot open"):  # on main: OSError 'File name too long' in cleanup
        write_video(FRAMES, tmp_path / ("x" * 250 + ".mp4"))


def test_temp_videos_of_killed_writers_are_removed_by_the_next_one(tmp_path):
    video = tmp_path / "clip.mp4"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = video.with_name(f".clip.mp4.tmp-{int(dead.stdout)}-abcd1234.mp4")
    live = video.with_name(f".clip.mp4.tmp-{os.getpid()}-efgh5678.mp4")  # a writer still running
    other = video.with_name(f".other.mp4.tmp-{int(dead.stdout)}-abcd1234.mp4")
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    stream = VideoStream(video, fps=20)
    assert not stale.exists() and live.exists() and other.exists()
    stream.write(FRAMES[0])
    stream.finish()
    assert video.is_file()


def test_finished_prior_is_not_retrained_unless_asked(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_prior_train import _cfg, _write_data

    from steve1.prior.train import train_prior

    _write_data(tmp_path / "data.pkl", n=120)
    cfg = _cfg(tmp_path, n_epochs=1, n_validation=20)
    first = train_prior(cfg)
    out = Path(cfg.output_path)
    stamp = out.stat().st_mtime_ns
    again = train_prior(cfg)
    assert again is None and out.stat().st_mtime_ns == stamp  # already trained with these settings: kept
    assert first["best_val"] > 0
    import dataclasses

    redone = train_prior(dataclasses.replace(cfg, overwrite=True))
    assert redone is not None and out.stat().st_mtime_ns != stamp
    with pytest.raises(ValueError, match="--overwrite"):  # other settings: refused, never silently reused
        train_prior(dataclasses.replace(cfg, n_epochs=2))
    changed = train_prior(dataclasses.replace(cfg, n_epochs=2, overwrite=True))
    assert len(changed["history"]) == 2
