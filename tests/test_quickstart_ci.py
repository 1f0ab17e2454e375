"""`steve1 quickstart --scale ci` on the real Minetest world: every stage's output exists and is valid.

One run of the whole pipeline (a few minutes on two cores); then a rerun that must skip every stage.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from steve1.envs.minetest import minetest_available
from steve1.quickstart.settings import SCALES

CI = SCALES["ci"]

pytestmark = [pytest.mark.minetest, pytest.mark.slow,
              pytest.mark.skipif(minetest_available() is not None, reason=str(minetest_available()))]


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    from steve1.quickstart.run import main

    out = tmp_path_factory.mktemp("quickstart") / "ci"
    # no released weights in an empty weights dir: every model is trained here from scratch
    weights = tmp_path_factory.mktemp("no_weights")
    assert main(["--scale", "ci", "--out", str(out), "--weights-dir", str(weights)]) == 0
    return out, weights


def _done(out, folder):
    d = out / folder
    done = json.loads((d / "done.json").read_text())
    for p in done["outputs"]:
        assert Path(p).exists(), p
    return d, done


def test_every_stage_output(ci_run):
    import torch

    from steve1.data.episode import Episode, list_episode_dirs, min_frames_for_training
    from steve1.data.sampling import load_sampling
    from steve1.data.states import read_states
    from steve1.eval.results import read_rows_csv
    from steve1.eval.video import read_video
    from steve1.prior.data import load_prior_data
    from steve1.prior.model import load_prior
    from steve1.quickstart.models import load_goal_policy

    out, _ = ci_run
    d, done = _done(out, "01_generate")
    eps = list_episode_dirs(d / "episodes")
    assert len(eps) == done["episodes"] >= 2
    for p in eps:
        ep = Episode(p, deep=True)
        assert min_frames_for_training(CI.T, CI.min_btwn_goals) <= len(ep) <= CI.episode_steps
        assert all(e is not None and e.shape == (1, 512) for e in ep.embeds()[15:])
        states = read_states(p, len(ep))
        assert len(states) == len(ep) and {"inv", "pos", "pitch", "skill"} <= set(states[0])

    d, done = _done(out, "02_sampling")
    train, val = load_sampling(d, "quickstart")
    assert train and val and not set(train) & set(val)

    d, done = _done(out, "03_train")
    policy = load_goal_policy("tiny", d / "policy.weights")
    assert all(torch.isfinite(p).all() for p in policy.parameters())
    assert done["frames"] >= CI.train_frames and np.isfinite(done["last_loss"])

    d, done = _done(out, "04_label")
    text, visual = load_prior_data(d / "data.pkl")
    assert len(text) == len(visual) == done["n_pairs"] >= 1
    labels = json.loads((d / "labels.json").read_text())
    assert sum(labels["per_label"].values()) == len(text)

    d, done = _done(out, "05_prior")
    prior = load_prior(d / "prior.pt")
    assert prior.input_dim == 512

    d, done = _done(out, "06_agent")
    rows = read_rows_csv(d / "episodes.csv")
    assert {r["agent"] for r in rows} == {"text prompt", "unconditional"}
    for name in ("text_prompt.mp4", "unconditional.mp4"):
        video = read_video(d / name)
        assert video.shape[0] == CI.agent_steps and video.shape[-1] == 3

    d, done = _done(out, "07_report")
    report = (out / "report.md").read_text()
    assert "RANDOM" in report and "| text prompt | log |" in report
    assert "| unconditional | travel_dist |" in report
    assert (d / "travel_dist.png").stat().st_size > 1000


def test_rerun_skips_every_finished_stage(ci_run, capsys):
    from steve1.quickstart.run import main

    out, weights = ci_run
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/done.json")}
    assert len(before) == 7
    assert main(["--scale", "ci", "--out", str(out), "--weights-dir", str(weights)]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/done.json")} == before
    assert "(cached)" in capsys.readouterr().out
