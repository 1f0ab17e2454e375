"""Visual prompts: a goal from a 16-frame clip equals the stored-embedding path (EPISODE@STEP, and the
`steve1 visual-prompts` pickle), and every source form gives a (1, D) goal or a clear error."""
from __future__ import annotations

import json
import pickle

import cv2
import numpy as np
import pytest

from steve1.agent.goals import GoalError, visual_goal, visual_goal_from_frames
from steve1.data import reembed
from steve1.data.episode import Episode, save_episode
from steve1.data.states import write_states
from steve1.eval import visual_prompts
from steve1.mineclip import MineClipEmbedder, resolve_mineclip

N_FRAMES = 40
SKY_FROM = 20  # look_at_sky acts, looking up, from this frame on


@pytest.fixture(scope="module")
def embedder():
    model, _ = resolve_mineclip("tiny")  # the seeded tiny MineCLIP `steve1 embed --mineclip tiny` uses
    return MineClipEmbedder(model.eval())


@pytest.fixture
def episode(tmp_path):
    """A held-out episode (world seed 7) re-embedded with the tiny MineCLIP, with per-step states."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (N_FRAMES, 128, 128, 3), dtype=np.uint8)
    actions = [{"forward": np.array([0])} for _ in range(N_FRAMES)]
    ep = save_episode(tmp_path / "eps", "ep_seed7", frames, actions, [None] * N_FRAMES, {"seed": 7})
    states = [{"inv": {}, "pos": [0.0, 10.0, 0.0], "pitch": -70.0 if t >= SKY_FROM else 0.0, "yaw": 0.0,
               "skill": "look_at_sky" if t >= SKY_FROM else "explore"} for t in range(N_FRAMES)]
    write_states(ep.path, states)
    assert reembed.main(["--episodes", str(tmp_path / "eps"), "--mineclip", "tiny", "--device", "cpu"]) == 0
    return Episode(ep.path)


def test_clip_goal_equals_the_stored_embedding(episode, embedder):
    step = 31
    stored = visual_goal(f"{episode.path}@{step}", embedder)
    from_clip = visual_goal_from_frames(episode.frames(step - 15, step + 1), embedder)
    assert stored.shape == from_clip.shape == (1, embedder.embed_dim)
    np.testing.assert_allclose(stored, from_clip, rtol=1e-4, atol=1e-5)
    other = visual_goal_from_frames(episode.frames(step - 16, step), embedder)
    assert np.abs(other - stored).max() > 1e-3  # a different clip is a different goal


def test_visual_prompts_command_writes_the_clip_embedding(episode, embedder, tmp_path):
    out = tmp_path / "prompts"
    code = visual_prompts.main(["--episodes", str(episode.path.parent), "--skills", "look_at_sky",
                                "--mineclip", "tiny", "--out-dir", str(out)])
    assert code == 0
    index = json.loads((out / "visual_prompts.json").read_text())
    step = index["prompts"]["look_at_sky"]["step"]
    assert index["episodes"] == "eps" and str(tmp_path) not in json.dumps(index)  # it ships: no local paths
    assert step - 15 >= SKY_FROM  # the skill acted over the whole clip
    with open(out / "look_at_sky.pkl", "rb") as f:
        goal = pickle.load(f)
    assert goal.shape == (1, embedder.embed_dim) and goal.dtype == np.float32
    np.testing.assert_allclose(goal, visual_goal(f"{episode.path}@{step}", embedder), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(visual_goal("look_at_sky", embedder, out), goal)  # by name, as --visual
    assert len(visual_goal(out / "look_at_sky.mp4", embedder)) == 1  # the preview clip is a source too


def test_a_skill_without_a_clip_is_reported(episode, tmp_path, capsys):
    code = visual_prompts.main(["--episodes", str(episode.path.parent), "--skills", "look_at_sky,swim",
                                "--mineclip", "tiny", "--out-dir", str(tmp_path / "p")])
    assert code == 1 and "none found for swim" in capsys.readouterr().out
    assert visual_prompts.main(["--episodes", str(episode.path.parent), "--skills", "swim", "--mineclip",
                                "tiny", "--out-dir", str(tmp_path / "q")]) == 1
    assert not (tmp_path / "q" / "swim.pkl").exists()


def test_training_seeds_are_refused(tmp_path, capsys):
    from steve1.data.gen_mixed_agents import episode_seed

    frames = np.zeros((20, 128, 128, 3), np.uint8)
    save_episode(tmp_path / "eps", "ep", frames, [{}] * 20, [None] * 20, {"seed": episode_seed(1, 3)})
    code = visual_prompts.main(["--episodes", str(tmp_path / "eps"), "--mineclip", "tiny",
                                "--out-dir", str(tmp_path / "p")])
    assert code == 2 and "seeds of the training data" in capsys.readouterr().err


def test_frames_folder_and_bad_sources(tmp_path, embedder, episode):
    frames = episode.frames(0, 16)
    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), f[..., ::-1])
    np.testing.assert_allclose(visual_goal(folder, embedder), visual_goal_from_frames(frames, embedder),
                               rtol=1e-5, atol=1e-6)  # png is lossless
    few = tmp_path / "few"
    few.mkdir()
    cv2.imwrite(str(few / "0.png"), frames[0])
    with pytest.raises(GoalError, match="at least 16 frames"):
        visual_goal(few, embedder)
    with pytest.raises(GoalError, match="no stored clip embedding"):
        visual_goal(f"{episode.path}@3", embedder)
    with pytest.raises(GoalError, match="is an episode"):
        visual_goal(episode.path, embedder)
    with pytest.raises(FileNotFoundError, match="visual prompt"):
        visual_goal("no_such_prompt", embedder, tmp_path)


def test_evaluate_runs_a_visual_prompt_of_your_own(episode, tmp_path, monkeypatch):
    from steve1.run import evaluate
    from tests.agent_fakes import TINY_RUN_ARGS, use_fake_worlds

    use_fake_worlds(monkeypatch)
    out = tmp_path / "out"
    code = evaluate.main([*TINY_RUN_ARGS, "--agents", "visual", "--prompts", "", "--visual-prompt",
                          f"{episode.path}@31", "--out-dir", str(out), "--episodes", "1", "--steps", "5",
                          "--no-mineclip-eval"])
    assert code == 0
    [record] = [json.loads(p.read_text()) for p in (out / "episodes").glob("visual__*.json")]
    assert record["row"]["agent"] == "visual" and record["row"]["cond_scale"] == 7.0
    assert record["prompts"] == ["visual: ep_seed7@31"] and record["row"]["steps"] == 5


def test_a_skill_that_never_acted_alone_gets_a_clip_with_its_caption(episode, tmp_path):
    """No clip where the look_at_sky skill acted on all 16 frames: the first clip captioned 'look at the
    sky' is the prompt, whoever acted (as swimming clips come mostly from walkers that reach water)."""
    states = [{"inv": {}, "pos": [0.0, 10.0, 0.0], "pitch": -70.0 if t >= SKY_FROM else 0.0, "yaw": 0.0,
               "skill": "explore"} for t in range(N_FRAMES)]
    write_states(episode.path, states)
    out = tmp_path / "p"
    assert visual_prompts.main(["--episodes", str(episode.path.parent), "--skills", "look_at_sky",
                                "--mineclip", "tiny", "--out-dir", str(out)]) == 0
    index = json.loads((out / "visual_prompts.json").read_text())
    assert index["prompts"]["look_at_sky"]["step"] == max(SKY_FROM, 15)
