"""One short text-prompted run on the real Minetest world (tiny random-weight models): a playable video and
a metrics file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from steve1.envs.minetest import minetest_available
from steve1.eval.results import read_rows_csv
from steve1.eval.video import read_video
from steve1.run import prompt_video

pytestmark = [pytest.mark.minetest, pytest.mark.skipif(minetest_available() is not None,
                                                       reason=str(minetest_available()))]
STEPS = 30


def test_text_prompt_video_on_minetest(tmp_path):
    args = ["--prompt", "chop down the tree", "--steps", str(STEPS), "--world", "minetest", "--seed", "12345",
            "--out-dir", str(tmp_path), "--policy", "tiny", "--mineclip", "tiny", "--random-weights",
            "--device", "cpu"]
    assert prompt_video.main(args) == 0
    stem = tmp_path / "'chop down the tree' - Text Prompt"
    frames = read_video(stem.with_suffix(".mp4"))
    assert frames.shape == (STEPS, 128, 128, 3)
    assert frames[:, 20:].std() > 5  # the game's picture, not a blank screen
    row = read_rows_csv(stem.with_suffix(".csv"))[0]
    assert int(row["steps"]) == STEPS and row["world"] == "minetest" and row["world_seed"] == "12345"
    assert float(row["travel_dist"]) >= 0 and row["random_weights"] == "True"
    assert json.loads(stem.with_suffix(".json").read_text())[0]["prompt"] == "chop down the tree"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert np.isfinite(float(row["dirt"]))
