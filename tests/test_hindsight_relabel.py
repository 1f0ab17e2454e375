"""Packed hindsight relabeling: goal placement (property tests), windows, dataset items, sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from steve1.data.hindsight import (
    HindsightConfig,
    HindsightDataset,
    goal_index_per_step,
    goal_steps,
    load_sampling,
    sequence_windows,
)
from steve1.data.hindsight_sampler import ResumableBatchSampler
from steve1.data.hindsight_synthetic import InMemoryEpisode, encoded_actions, synthetic_episodes


def reference_goal_steps(gaps, length, min_gap):
    """The original's loop, fed the same gap draws."""
    goals, c, it = [], 0, iter(gaps)
    while c < length - 1:
        c += next(it)
        if length - c < min_gap:
            c = length - 1
        goals.append(c)
    return goals


def reference_goal_per_step(goals, length):
    """The original's per-step assignment, quirk included."""
    out, k = [], 0
    for t in range(length):
        out.append(goals[k])
        if t == goals[k] + 1:
            k += 1
    return out


lengths = st.integers(min_value=16, max_value=3000)
gap_pairs = st.tuples(st.integers(15, 60), st.integers(1, 250)).map(lambda p: (p[0], p[0] + p[1]))


@settings(max_examples=300, deadline=None)
@given(length=lengths, gaps=gap_pairs, seed=st.integers(0, 2**32 - 1))
def test_goal_steps_follow_the_original_loop(length, gaps, seed):
    lo, hi = gaps
    goals = goal_steps(np.random.default_rng(seed), length, lo, hi)
    draws = np.random.default_rng(seed).integers(lo, hi, size=(length - 1) // lo + 1, dtype=np.int64)
    assert goals.tolist() == reference_goal_steps(draws.tolist(), length, lo)
    # the properties the method relies on
    assert goals[-1] == length - 1
    assert np.all(np.diff(goals) > 0)
    assert goals[0] >= min(lo, length - 1)
    inner = np.diff(np.concatenate([[0], goals[:-1]]))
    assert np.all((inner >= lo) & (inner < hi))
    if len(goals) > 1:
        assert length - goals[-2] >= lo  # a kept goal leaves >= min steps after it


@settings(max_examples=300, deadline=None)
@given(length=lengths, gaps=gap_pairs, seed=st.integers(0, 2**32 - 1))
def test_goal_per_step_matches_the_original_assignment(length, gaps, seed):
    goals = goal_steps(np.random.default_rng(seed), length, *gaps)
    per_step = goal_index_per_step(goals, length, one_step_past_goal=True)
    assert per_step.tolist() == reference_goal_per_step(goals.tolist(), length)
    fixed = goal_index_per_step(goals, length, one_step_past_goal=False)
    t = np.arange(length)
    assert np.all(fixed >= t)  # never conditioned on a past goal
    assert np.all(per_step >= t - 1)  # the quirk: at most one step past the goal
    assert np.all(per_step >= 15) if length > 15 else True  # never a step without an embedding
    k = np.searchsorted(goals, t)
    assert np.array_equal(fixed, goals[k])  # the next goal at or after t


def test_gap_draws_cover_the_paper_range():
    rng = np.random.default_rng(0)
    goals = [goal_steps(rng, 5000, 15, 200)[:-1] for _ in range(200)]
    gaps = np.concatenate([np.diff(np.concatenate([[0], g])) for g in goals])
    assert gaps.min() == 15 and gaps.max() == 199


def test_bad_gap_settings_are_rejected():
    with pytest.raises(ValueError, match=">= 15"):
        goal_steps(np.random.default_rng(0), 100, 10, 50)
    with pytest.raises(ValueError, match="must be <"):
        goal_steps(np.random.default_rng(0), 100, 30, 30)


@pytest.mark.parametrize("length,T", [(655, 640), (1300, 640), (2000, 640), (47, 32), (100, 32)])
def test_windows_are_the_originals(length, T):
    w = sequence_windows(length, T)
    expected, start = [], 15
    while start < length:
        expected.append((start, start + T) if start + T <= length else (length - T, length))
        start += T
    assert [tuple(x) for x in w.tolist()] == expected
    assert np.all(w[:, 1] - w[:, 0] == T) and w[:, 1].max() == length


def test_too_short_episode_has_no_window():
    assert sequence_windows(654, 640).shape == (0, 2)


def make_dataset(p_uncond=0.0, one_step_past_goal=True, n=3, length=120, every_nth=1):
    eps = synthetic_episodes(n, length, seed=1)
    cfg = HindsightConfig(seq_len=32, min_btwn_goals=15, max_btwn_goals=40, p_uncond=p_uncond,
                          one_step_past_goal=one_step_past_goal, every_nth=every_nth)
    return HindsightDataset(eps, cfg, seed=3, action_encoder=encoded_actions), eps


def test_item_layout_and_goals_are_the_embeds_at_goal_steps():
    ds, eps = make_dataset()
    assert len(ds) == 3 * len(sequence_windows(120, 32))
    for i in range(len(ds)):
        item = ds[i]
        assert item["img"].shape == (32, 128, 128, 3) and item["img"].dtype == torch.uint8
        assert item["goal"].shape == (32, 512) and item["goal"].dtype == torch.float32
        assert item["buttons"].dtype == torch.int64 and item["camera"].shape == (32,)
        assert item["first"].tolist() == [True] + [False] * 31
        e, start, end = ds.windows[i]
        ep = eps[e]
        goals = goal_steps(ds.item_rng(i), len(ep), 15, 40)
        per_step = goal_index_per_step(goals, len(ep))[start:end]
        expected = np.stack([ep.embeds()[g][0] for g in per_step])
        np.testing.assert_array_equal(item["goal"].numpy(), expected)
        np.testing.assert_array_equal(item["img"].numpy(), ep.frames(start, end))
        b, c = encoded_actions(ep.actions())
        np.testing.assert_array_equal(item["buttons"].numpy(), b[start:end])
        np.testing.assert_array_equal(item["camera"].numpy(), c[start:end])


def test_items_are_reproducible_and_change_with_epoch():
    ds, _ = make_dataset()
    a = ds[2]["goal"]
    assert torch.equal(a, ds[2]["goal"])
    ds.set_epoch(1)
    assert not torch.equal(a, ds[2]["goal"])


def test_goal_dropout_rate_is_per_sequence(monkeypatch):
    ds, _ = make_dataset(p_uncond=0.1, n=40, length=400)
    blank = np.zeros((32, 128, 128, 3), np.uint8)
    for ep in ds._episodes:  # only the goals matter here
        monkeypatch.setattr(ep, "frames", lambda start, end: blank)
    zero = []
    for epoch in range(10):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            g = ds[i]["goal"]
            all_zero = bool((g == 0).all())
            assert all_zero or bool((g != 0).any(dim=1).all())  # all steps or none
            zero.append(all_zero)
    rate = np.mean(zero)
    assert 0.07 < rate < 0.13, rate


def test_every_nth_and_short_episodes():
    eps = [InMemoryEpisode(40, 0), InMemoryEpisode(200, 1)]
    cfg = HindsightConfig(seq_len=32, max_btwn_goals=40, every_nth=2)
    ds = HindsightDataset(eps, cfg, action_encoder=encoded_actions)
    assert ds.skipped_episodes == 1
    full = sequence_windows(200, 32)
    assert ds.windows[:, 1:].tolist() == full[::2].tolist()


def test_bad_frames_give_a_clear_error():
    class Broken(InMemoryEpisode):
        def frames(self, start, end):
            return np.zeros((end - start, 64, 64, 3), np.uint8)

    ds = HindsightDataset([Broken(100)], HindsightConfig(seq_len=32, max_btwn_goals=40),
                          action_encoder=encoded_actions)
    with pytest.raises(ValueError, match="expected \\(32, 128, 128, 3\\) uint8"):
        ds[0]


def test_sampling_files(tmp_path):
    (tmp_path / "s_train.txt").write_text("a\n b \n\n")
    (tmp_path / "s_val.txt").write_text("c\n")
    assert load_sampling(tmp_path, "s") == (["a", "b"], ["c"])
    with pytest.raises(FileNotFoundError, match="x_train.txt"):
        load_sampling(tmp_path, "x")


def test_sampler_shards_resumes_and_drops_last():
    full = ResumableBatchSampler(23, 2, seed=5, num_processes=2, rank=0)
    other = ResumableBatchSampler(23, 2, seed=5, num_processes=2, rank=1)
    a, b = list(full), list(other)
    assert len(a) == len(b) == 5  # 23 // 4
    seen = [i for batch in a + b for i in batch]
    assert len(set(seen)) == 20
    full.set_position(0, 3)
    assert list(full) == a[3:]
    full.set_position(1, 0)
    assert list(full) != a
    with pytest.raises(ValueError, match="fewer than one batch"):
        ResumableBatchSampler(3, 2, num_processes=2)


def test_episodes_on_disk_with_env_actions(tmp_path):
    from steve1.data.episode import save_episode
    from steve1.spaces import noop_action
    from steve1.vpt.actions import env_to_agent

    mem = InMemoryEpisode(60, seed=4)
    actions = []
    for i in range(60):
        a = noop_action()
        a["forward"] = i % 2
        a["camera"] = np.array([0.0, float(i % 7)])
        actions.append(a)
    save_episode(tmp_path, "ep", mem.frames(0, 60), actions, mem.embeds())
    ds = HindsightDataset([str(tmp_path / "ep")], HindsightConfig(seq_len=32, max_btwn_goals=40), seed=1)
    buttons, camera = env_to_agent(actions)
    for i in range(len(ds)):
        item = ds[i]
        _, start, end = ds.windows[i]
        np.testing.assert_array_equal(item["buttons"].numpy(), buttons[start:end])
        np.testing.assert_array_equal(item["camera"].numpy(), camera[start:end])
        per_step = goal_index_per_step(goal_steps(ds.item_rng(i), 60, 15, 40), 60)[start:end]
        np.testing.assert_array_equal(item["goal"].numpy(), np.stack([mem.embeds()[g][0] for g in per_step]))
        assert item["img"].shape == (32, 128, 128, 3)
    assert ds._episodes == [str(tmp_path / "ep")]  # opened episodes (with their cached lists) are not kept
