"""The STEVE-1 agent: parity with the original's guided act, batching over worlds, resets, goals, weights."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from steve1.agent import (
    PAPER_TEXT_PROMPTS,
    GoalError,
    MissingWeightsError,
    Steve1Agent,
    check_prompt,
    load_agent_models,
    normalize_interactive_prompt,
    text_goal,
    text_goals,
    visual_goal_from_frames,
    visual_goal_from_pickle,
    zero_goal,
)
from steve1.vpt.actions import agent_to_env
from steve1.vpt.config import TINY_CONFIG
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.weights import load_policy_weights
from tests.conftest import load_parity


@pytest.fixture(scope="module")
def models():
    return load_agent_models("tiny", mineclip="tiny", random_weights=True, seed=1)


def _frames(n, seed=0, shape=(360, 640, 3)):
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def test_agent_reproduces_the_original_guided_act():
    """The reference's 4 act(cond_scale=6) calls: argmax and seeded-sampled actions, via Steve1Agent."""
    golden = load_parity("steve1_policy_tiny.pt")
    policy = VPTPolicy(TINY_CONFIG, goal_dim=512)
    load_policy_weights(policy, golden["state_dict"])
    cfg = golden["inputs"]["cfg"]
    frames, goal = cfg["img"].contiguous().numpy(), cfg["goal_embed"].numpy()
    det = Steve1Agent(policy, cond_scale=cfg["cond_scale"], deterministic=True)
    sto = Steve1Agent(policy, cond_scale=cfg["cond_scale"])
    for t, ref in enumerate(golden["outputs"]["cfg_steps"]):
        buttons, camera = det.act_classes(frames[t:t + 1], goal)
        assert buttons.tolist() == ref["action_deterministic"]["buttons"][:, 0].tolist()
        assert camera.tolist() == ref["action_deterministic"]["camera"][:, 0].tolist()
        sto.generator = torch.Generator().manual_seed(ref["seed"])  # the reference seeded its global RNG
        buttons, camera = sto.act_classes(frames[t:t + 1], goal)
        assert buttons.tolist() == ref["action_stochastic"]["buttons"][:, 0].tolist()
        assert camera.tolist() == ref["action_stochastic"]["camera"][:, 0].tolist()


def test_batch_of_worlds_equals_one_agent_per_world(models):
    goals = np.random.default_rng(1).normal(size=(3, models.goal_dim)).astype(np.float32)
    batched = Steve1Agent(models.policy, n_worlds=3, deterministic=True)
    singles = [Steve1Agent(models.policy, deterministic=True) for _ in range(3)]
    for step in range(4):
        povs = _frames(3, seed=step)
        got = batched.act_classes(povs, goals)
        for i, agent in enumerate(singles):
            b, c = agent.act_classes(povs[i:i + 1], goals[i:i + 1])
            assert (got[0][i], got[1][i]) == (b[0], c[0]), f"world {i} step {step}"
        if step == 1:  # a world restarts its episode: only its memory is cleared
            batched.reset(worlds=[1])
            singles[1].reset()


def test_subsets_and_per_world_scales_match_full_calls(models):
    goals = np.random.default_rng(2).normal(size=(4, models.goal_dim)).astype(np.float32)
    full = [Steve1Agent(models.policy, n_worlds=2, cond_scale=s, deterministic=True) for s in (6.0, 7.0)]
    mixed = Steve1Agent(models.policy, n_worlds=4, deterministic=True)
    for step in range(3):
        povs = _frames(4, seed=10 + step)
        want_a = full[0].act_classes(povs[[0, 2]], goals[[0, 2]])
        want_b = full[1].act_classes(povs[[1, 3]], goals[[1, 3]])
        # worlds given out of order, two scales in one call
        got = mixed.act_classes(povs[[3, 0, 2, 1]], goals[[3, 0, 2, 1]], worlds=[3, 0, 2, 1],
                                cond_scale=[7.0, 6.0, 6.0, 7.0])
        assert got[0].tolist() == [want_b[0][1], want_a[0][0], want_a[0][1], want_b[0][0]]
        assert got[1].tolist() == [want_b[1][1], want_a[1][0], want_a[1][1], want_b[1][0]]


def test_idle_worlds_keep_their_memory(models):
    goal = np.random.default_rng(3).normal(size=(1, models.goal_dim)).astype(np.float32)
    agent = Steve1Agent(models.policy, n_worlds=2, deterministic=True)
    ref = Steve1Agent(models.policy, n_worlds=1, deterministic=True)
    for step in range(3):
        povs = _frames(2, seed=20 + step)
        if step != 1:
            agent.act_classes(povs[1:], goal, worlds=[1])  # world 1 steps on its own
        got = agent.act_classes(povs[:1], goal, worlds=[0])
        want = ref.act_classes(povs[:1], goal)
        assert (got[0][0], got[1][0]) == (want[0][0], want[1][0])


def test_zero_goal_without_guidance_is_the_unconditional_policy(models):
    agent = Steve1Agent(models.policy, cond_scale=0.0, deterministic=True)
    state = models.policy.initial_state(1)
    for step in range(3):
        pov = _frames(1, seed=30 + step, shape=(128, 128, 3))
        got = agent.act_classes(pov, None)
        with torch.no_grad():
            out = models.policy(torch.from_numpy(pov)[:, None], torch.zeros(1, 1, dtype=torch.bool), state)
        state = out.state
        assert got[0][0] == out.logp_buttons[0, 0].argmax() and got[1][0] == out.logp_camera[0, 0].argmax()


def test_actions_are_minerl_dicts_and_seeded_sampling_repeats(models):
    goal = zero_goal(models.goal_dim)
    runs = []
    for _ in range(2):
        agent = Steve1Agent(models.policy, n_worlds=2, generator=torch.Generator().manual_seed(5))
        runs.append([agent.act([{"pov": p} for p in _frames(2, seed=s)], goal) for s in range(3)])
    a, b = runs
    assert len(a[0]) == 2 and set(a[0][0]) >= {"attack", "forward", "camera", "inventory"}
    for x, y in zip(a, b, strict=True):
        assert [sorted(map(str, d.items())) for d in x] == [sorted(map(str, d.items())) for d in y]
    buttons, camera = agent.last_classes
    assert str(agent_to_env(buttons, camera)) == str(b[-1])


def test_bad_agent_inputs_say_what_is_wrong(models):
    agent = Steve1Agent(models.policy, n_worlds=2)
    with pytest.raises(ValueError, match="2 worlds"):
        agent.act(_frames(3), None)
    with pytest.raises(ValueError, match="expected \\(2, 64\\)"):
        agent.act(_frames(2), np.zeros((2, 512), np.float32))
    with pytest.raises(ValueError, match="world indices"):
        agent.act(_frames(1), None, worlds=[2])
    with pytest.raises(ValueError, match="goal-conditioned"):
        Steve1Agent(VPTPolicy(TINY_CONFIG))


# ---------------------------------------------------------------- goals
def test_text_goals_use_mineclip_then_the_prior(models):
    g = torch.Generator().manual_seed(0)
    got = text_goals(["chop down the tree", "look at the sky"], models.embedder, models.prior, g)
    text = torch.from_numpy(models.embedder.embed_texts(["chop down the tree", "look at the sky"]))
    want = models.prior.sample(text, generator=torch.Generator().manual_seed(0)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert text_goal("go explore", models.embedder, models.prior).shape == (1, models.goal_dim)


def test_empty_prompts_are_refused(models):
    for bad in ("", "   \n"):
        with pytest.raises(GoalError, match="empty text prompt"):
            text_goal(bad, models.embedder, models.prior)
        with pytest.raises(GoalError, match="empty"):
            normalize_interactive_prompt(bad)
    with pytest.raises(GoalError, match="must be a str"):
        check_prompt(None)


def test_interactive_prompts_are_stripped_and_lower_cased():
    assert normalize_interactive_prompt("  Chop Down THE Tree \n") == "chop down the tree"


def test_paper_prompts_are_the_originals_eleven():
    assert list(PAPER_TEXT_PROMPTS) == ["dig", "dirt", "sky", "leaves", "wood", "seeds", "flower", "explore",
                                        "swim", "underwater", "inventory"]
    assert PAPER_TEXT_PROMPTS["sky"] == "look at the sky"


def test_visual_prompt_pickles(tmp_path):
    emb = np.random.default_rng(0).normal(size=(1, 512)).astype(np.float32)
    (tmp_path / "wood.pkl").write_bytes(pickle.dumps(emb))
    np.testing.assert_array_equal(visual_goal_from_pickle("wood", directory=tmp_path), emb)
    np.testing.assert_array_equal(visual_goal_from_pickle(tmp_path / "wood.pkl"), emb)
    with pytest.raises(FileNotFoundError, match="download_weights.sh"):
        visual_goal_from_pickle("sky", directory=tmp_path)
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(np.zeros((2, 512), np.float32)))
    with pytest.raises(GoalError, match="shape \\(2, 512\\)"):
        visual_goal_from_pickle(tmp_path / "bad.pkl")
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(pickle.Pickler))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        visual_goal_from_pickle(tmp_path / "evil.pkl")


def test_visual_goal_from_a_clip_embeds_its_last_16_frames(models):
    clip = _frames(20, seed=4, shape=(64, 96, 3))
    got = visual_goal_from_frames(clip, models.embedder)
    np.testing.assert_allclose(got, models.embedder.embed_windows(clip)[-1:], rtol=1e-5, atol=1e-6)
    with pytest.raises(GoalError, match="at least 16 frames"):
        visual_goal_from_frames(clip[:15], models.embedder)


def test_missing_released_weights_name_the_files_and_the_download_script(tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        load_agent_models(tmp_path / "2x.model", tmp_path / "steve1.weights",
                          mineclip_weights=tmp_path / "attn.pth", prior_weights=tmp_path / "prior.pt")
    msg = str(err.value)
    for name in ("2x.model", "steve1.weights", "attn.pth", "prior.pt", "./download_weights.sh",
                 "--random-weights"):
        assert name in msg
