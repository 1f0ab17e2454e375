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
    assert main(["--scale", "ci", "--out", str(out)]) == 0
    return out


def _done(out, folder):
    d = out / folder
    done = json.loads((d / "done.json").read_text())
    for p in done["outputs"]:
        assert Path(p).exists(), p
    return d, done


def test_every_stage_output(ci_run):
    import torch

    from steve1.agent.models import load_agent_models
    from steve1.data.episode import Episode, list_episode_dirs, min_frames_for_training
    from steve1.data.reembed import read_record
    from steve1.data.sampling import load_sampling
    from steve1.data.states import read_states
    from steve1.eval.results import read_rows_csv
    from steve1.eval.video import read_video
    from steve1.mineclip import load_mineclip
    from steve1.prior.data import load_prior_data

    out = ci_run
    for folder in ("01_shipped", "09_agent"):  # the shipped agent, then the small run's own
        d, done = _done(out, folder)
        rows = read_rows_csv(d / "episodes.csv")
        assert {r["agent"] for r in rows} == {"text prompt", "unconditional"}
        for name in ("text_prompt.mp4", "unconditional.mp4"):
            video = read_video(d / name)
            assert video.shape[0] == CI.agent_steps and video.shape[-1] == 3

    d, done = _done(out, "02_generate")
    eps = list_episode_dirs(d / "episodes")
    assert len(eps) == done["episodes"] == CI.episodes
    d, done = _done(out, "03_mineclip")
    clip = load_mineclip(d / "mineclip.pth")
    assert np.isfinite(done["last_loss"]) and clip.config.embed_dim == 512
    _done(out, "04_embed")
    for p in eps:
        ep = Episode(p, deep=True)
        assert min_frames_for_training(CI.T, CI.min_btwn_goals) <= len(ep) <= CI.episode_steps
        assert all(e is not None and e.shape == (1, 512) for e in ep.embeds()[15:])
        assert "(ours" in read_record(p)["mineclip"]  # embedded by the MineCLIP trained in 03
        states = read_states(p, len(ep))
        assert len(states) == len(ep) and {"inv", "pos", "pitch", "skill"} <= set(states[0])

    d, done = _done(out, "05_sampling")
    train, val = load_sampling(d, "quickstart")
    assert train and val and not set(train) & set(val)

    d, done = _done(out, "06_train")
    assert done["frames"] >= CI.train_frames and np.isfinite(done["last_loss"])
    d, done = _done(out, "07_label")
    text, visual = load_prior_data(d / "data.pkl")
    assert len(text) == len(visual) == done["n_pairs"] >= 1
    labels = json.loads((d / "labels.json").read_text())
    assert sum(labels["per_label"].values()) == len(text)
    _done(out, "08_prior")
    models = load_agent_models(CI.policy, out / "06_train" / "policy.weights",
                               mineclip=str(out / "03_mineclip" / "mineclip.pth"),
                               prior_weights=out / "08_prior" / "prior.pt")
    assert all(torch.isfinite(p).all() for p in models.policy.parameters())

    d, done = _done(out, "10_report")
    report = (out / "report.md").read_text()
    assert "## The shipped STEVE-1" in report and "not a steerable agent" in report
    assert "| text prompt | log |" in report and "| unconditional | travel_dist |" in report
    assert (d / "agent" / "travel_dist.png").stat().st_size > 1000


def test_rerun_skips_every_finished_stage(ci_run, capsys):
    from steve1.quickstart.run import main

    out = ci_run
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/done.json")}
    assert len(before) == 10
    assert main(["--scale", "ci", "--out", str(out)]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/done.json")} == before
    assert "(cached)" in capsys.readouterr().out
