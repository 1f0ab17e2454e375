"""The video runners end to end on a fake world with tiny random-weight models: names, skipping, results."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from steve1.eval.results import read_rows_csv
from steve1.eval.video import read_video, write_video
from steve1.run import paper_videos, prompt_video
from tests.agent_fakes import TINY_RUN_ARGS as TINY
from tests.agent_fakes import use_fake_worlds


@pytest.fixture
def fake_worlds(monkeypatch):
    return use_fake_worlds(monkeypatch)


def test_prompt_video_writes_a_playable_video_and_its_metrics(tmp_path, fake_worlds):
    args = ["--prompt", "Chop a tree", "--steps", "5", "--out-dir", str(tmp_path), *TINY]
    assert prompt_video.main(args) == 0
    stem = tmp_path / "'Chop a tree' - Text Prompt"
    frames = read_video(stem.with_suffix(".mp4"))
    assert frames.shape == (5, 128, 128, 3)
    row = read_rows_csv(stem.with_suffix(".csv"))[0]
    assert row["prompt"] == "Chop a tree" and row["agent"] == "text" and row["random_weights"] == "True"
    assert float(row["cond_scale"]) == 6.0 and int(row["steps"]) == 5
    assert json.loads(stem.with_suffix(".json").read_text())[0]["episode"] == "'Chop a tree' - Text Prompt"
    assert len(read_rows_csv(tmp_path / "episodes.csv")) == 1


def test_empty_prompt_is_a_clear_error(tmp_path, fake_worlds, capsys):
    assert prompt_video.main(["--prompt", "  ", "--out-dir", str(tmp_path), *TINY]) == 2
    assert "empty text prompt" in capsys.readouterr().err
    assert not list(tmp_path.iterdir()) and not fake_worlds


def test_missing_weights_point_to_the_download_script(tmp_path, fake_worlds, capsys):
    args = ["--policy", str(tmp_path / "2x.model"), "--weights", str(tmp_path / "w"),
            "--mineclip-weights", str(tmp_path / "m"), "--prior-weights", str(tmp_path / "p")]
    assert prompt_video.main(["--out-dir", str(tmp_path / "out"), *args]) == 2
    assert "./download_weights.sh" in capsys.readouterr().err


def test_unconditional_and_visual_prompt_videos(tmp_path, fake_worlds):
    assert prompt_video.main(["--unconditional", "--steps", "3", "--out-dir", str(tmp_path), *TINY]) == 0
    assert read_rows_csv(tmp_path / "unconditional.csv")[0]["agent"] == "unconditional"
    (tmp_path / "wood.pkl").write_bytes(pickle.dumps(np.ones((1, 512), np.float32)))
    args = ["--visual", str(tmp_path / "wood.pkl"), "--steps", "3", "--out-dir", str(tmp_path), *TINY]
    assert prompt_video.main(args) == 0
    row = read_rows_csv(tmp_path / "wood - Visual Prompt.csv")[0]
    assert row["agent"] == "visual" and float(row["cond_scale"]) == 7.0
    clip = np.random.default_rng(0).integers(0, 256, (17, 48, 64, 3), dtype=np.uint8)
    write_video(clip, tmp_path / "clip.mp4")  # a visual prompt given as a clip: its last 16 frames
    args = ["--visual", str(tmp_path / "clip.mp4"), "--steps", "2", "--out-dir", str(tmp_path), *TINY]
    assert prompt_video.main(args) == 0
    assert read_rows_csv(tmp_path / "clip - Visual Prompt.csv")[0]["prompt"] == "visual: clip"


def test_paper_videos_names_skipping_and_results(tmp_path, fake_worlds):
    out = tmp_path / "out"
    out.mkdir()
    made_before = out / "'sky' - Text Prompt.mp4"
    made_before.write_bytes(b"made by an earlier run")
    vis = tmp_path / "vis"
    vis.mkdir()
    for name in ("sky", "dig"):
        (vis / f"{name}.pkl").write_bytes(pickle.dumps(np.full((1, 512), 0.5, np.float32)))
    args = ["--prompts", "sky,dig", "--steps", "4", "--out-dir", str(out), "--visual-prompts-dir", str(vis),
            "--n-worlds", "2", *TINY]
    assert paper_videos.main(args) == 0
    names = sorted(p.name for p in out.glob("*.mp4"))
    assert names == ["'dig' - Text Prompt.mp4", "'sky' - Text Prompt.mp4", "dig - Visual Prompt.mp4",
                     "sky - Visual Prompt.mp4"]
    assert made_before.read_bytes() == b"made by an earlier run"  # skipped, not redone
    rows = read_rows_csv(out / "episodes.csv")
    assert sorted((r["prompt"], r["agent"]) for r in rows) == [("dig", "text"), ("dig", "visual"),
                                                               ("sky", "visual")]
    seeds = {r["episode"]: int(r["world_seed"]) for r in rows}
    assert seeds["dig - Visual Prompt"] == 0 and seeds["sky - Visual Prompt"] == 2  # seed + prompt index
    assert ("reset", 2) in fake_worlds
    n_resets = sum(1 for e in fake_worlds if e[0] == "reset")
    assert paper_videos.main(args) == 0  # everything made: nothing runs
    assert sum(1 for e in fake_worlds if e[0] == "reset") == n_resets


def test_paper_videos_refuse_unknown_prompts(tmp_path, fake_worlds, capsys):
    assert paper_videos.main(["--prompts", "sky,fly", "--out-dir", str(tmp_path), *TINY]) == 2
    assert "unknown ['fly']" in capsys.readouterr().err


def test_paper_videos_refuse_a_folder_made_with_other_settings(tmp_path, fake_worlds, capsys):
    """A smoke run's videos are not passed off as a later real run's: other settings refuse, --overwrite
    remakes them."""
    out = tmp_path / "out"
    args = ["--prompts", "sky", "--kinds", "text", "--out-dir", str(out), *TINY]
    assert paper_videos.main([*args, "--steps", "3"]) == 0
    video = out / "'sky' - Text Prompt.mp4"
    first = video.stat().st_mtime_ns
    n_resets = sum(1 for e in fake_worlds if e[0] == "reset")
    assert paper_videos.main([*args, "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert "other settings (steps 3 -> 5)" in err and "--overwrite" in err and "already exist" not in err
    assert sum(1 for e in fake_worlds if e[0] == "reset") == n_resets and video.stat().st_mtime_ns == first
    assert paper_videos.main([*args, "--steps", "5", "--overwrite"]) == 0
    assert sum(1 for e in fake_worlds if e[0] == "reset") == n_resets + 1
    assert int(read_rows_csv(out / "'sky' - Text Prompt.csv")[0]["steps"]) == 5
    assert paper_videos.main([*args, "--steps", "5"]) == 0  # the record now holds the new settings
    assert "already exist" in capsys.readouterr().out


def test_run_agent_refuses_to_reuse_a_video_made_with_other_settings(tmp_path, fake_worlds, capsys):
    args = ["--unconditional", "--out-dir", str(tmp_path), *TINY]
    assert prompt_video.main([*args, "--steps", "3"]) == 0
    assert prompt_video.main([*args, "--steps", "4"]) == 2
    assert "steps 3 -> 4" in capsys.readouterr().err
    assert prompt_video.main([*args, "--steps", "4", "--overwrite"]) == 0
    assert int(read_rows_csv(tmp_path / "unconditional.csv")[0]["steps"]) == 4


def test_run_agent_with_own_policy_and_prior_needs_no_released_file(tmp_path, fake_worlds):
    """--policy tiny --weights MINE --mineclip tiny --prior-weights MINE: no attn.pth (or any released file)
    is read; the prior's sizes come from its file."""
    import torch

    from steve1.prior.model import TranslatorVAE
    from steve1.vpt.config import TINY_CONFIG
    from steve1.vpt.policy import VPTPolicy
    from steve1.vpt.weights import save_policy_weights

    save_policy_weights(VPTPolicy(TINY_CONFIG, goal_dim=512), tmp_path / "mine.weights")
    torch.save(TranslatorVAE(512, 32, 8).state_dict(), tmp_path / "mine_prior.pt")
    args = ["--policy", "tiny", "--weights", str(tmp_path / "mine.weights"), "--mineclip", "tiny",
            "--prior-weights", str(tmp_path / "mine_prior.pt"),
            "--mineclip-weights", str(tmp_path / "absent"),
            "--prompt", "dig", "--steps", "2", "--out-dir", str(tmp_path / "out"), "--device", "cpu"]
    assert prompt_video.main(args) == 0
    row = read_rows_csv(tmp_path / "out" / "'dig' - Text Prompt.csv")[0]
    assert row["random_weights"] == "False"
