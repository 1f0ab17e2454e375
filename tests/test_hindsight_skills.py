"""Relabelling options for scripted-skill episodes: goals within each skill's segment, skill-start weights."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from steve1.data.episode import Episode, EpisodeError, save_episode
from steve1.data.hindsight import (
    HindsightConfig,
    HindsightDataset,
    goal_index_per_step,
    goal_steps,
    segment_goal_steps,
    skill_segment_starts,
    skill_start_weights,
)
from steve1.data.hindsight_synthetic import InMemoryEpisode, encoded_actions
from steve1.training.loss import chunk_loss


def test_segment_starts_treat_interruptions_as_the_skill_they_interrupt():
    skills = ["a", "a", "bump", "bump", "a", "b", "b", "spin", "c", None, None]
    assert skill_segment_starts(skills).tolist() == [0, 5, 8, 9]  # the spin is still b
    assert skill_segment_starts([None] * 4).tolist() == [0]


def test_start_weights_cover_each_run_of_a_skill_and_stop_at_interruptions():
    skills = ["a"] * 4 + ["bump"] * 2 + ["a"] * 3 + ["b"] * 5
    w = skill_start_weights(skills, 3, 4.0)
    assert w.tolist() == [4, 4, 4, 1, 1, 1, 4, 4, 4, 4, 4, 4, 1, 1]
    assert skill_start_weights(["a", "bump", "a"], 3, 2.0).tolist() == [2, 1, 2]
    assert skill_start_weights([None] * 5, 3, 4.0).tolist() == [1] * 5  # no recorded skills: no weighting


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(1, 799), max_size=6), seed=st.integers(0, 2**32 - 1))
def test_segment_goals_never_cross_a_segment(cuts, seed):
    length = 800
    starts = np.unique(np.array([0, *cuts], dtype=np.int64))
    goals = segment_goal_steps(np.random.default_rng(seed), starts, length, 15, 100)
    assert goals[-1] == length - 1 and np.all(np.diff(goals) > 0)
    ends = np.append(starts[1:], length) - 1
    assert set(ends.tolist()) <= set(goals.tolist())  # every segment ends on a goal
    per_step = goal_index_per_step(goals, length, one_step_past_goal=False)
    segment_of = np.searchsorted(starts, np.arange(length), side="right")
    assert np.array_equal(segment_of, np.searchsorted(starts, per_step, side="right"))


def test_one_segment_draws_exactly_the_usual_goals():
    a = segment_goal_steps(np.random.default_rng(5), np.zeros(1, np.int64), 700, 15, 100)
    assert a.tolist() == goal_steps(np.random.default_rng(5), 700, 15, 100).tolist()


class SkillEpisode(InMemoryEpisode):
    def __init__(self, length, skills, seed=0):
        super().__init__(length, seed)
        self._skills = skills

    def skills(self):
        return self._skills


def test_dataset_goals_stay_in_the_skill_segment_and_weights_ride_along():
    skills = ["a"] * 70 + ["b"] * 50 + ["bump"] * 5 + ["b"] * 35
    ep = SkillEpisode(160, skills, seed=2)
    cfg = HindsightConfig(seq_len=32, min_btwn_goals=15, max_btwn_goals=40, p_uncond=0.0,
                          skill_segment_goals=True, skill_start_steps=10, skill_start_weight=3.0)
    ds = HindsightDataset([ep], cfg, seed=1, action_encoder=encoded_actions)
    embeds = np.stack([np.zeros(512, np.float32) if e is None else e[0] for e in ep.embeds()])
    weights = skill_start_weights(skills, 10, 3.0)
    for i in range(len(ds)):
        item, (_, start, end) = ds[i], ds.windows[i]
        goals = segment_goal_steps(ds.item_rng(i), np.array([0, 70]), 160, 15, 40)
        assert 69 in goals.tolist()  # the last step of skill a is a goal
        per_step = goal_index_per_step(goals, 160)[start:end]
        np.testing.assert_array_equal(item["goal"].numpy(), embeds[per_step])
        np.testing.assert_array_equal(item["weight"].numpy(), weights[start:end])
    # without the options: weight 1 everywhere and the usual goals
    plain = HindsightDataset([ep], HindsightConfig(seq_len=32, max_btwn_goals=40, p_uncond=0.0), seed=1,
                             action_encoder=encoded_actions)
    assert torch.all(plain[0]["weight"] == 1)


def test_weighted_chunk_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    lb = torch.log_softmax(torch.randn(2, 3, 8641), -1)
    lc = torch.log_softmax(torch.randn(2, 3, 121), -1)
    b, c = torch.randint(0, 8641, (2, 3)), torch.randint(0, 121, (2, 3))
    w = torch.tensor([[1.0, 2.0, 0.0], [3.0, 1.0, 1.0]])
    manual = 0.0
    for i in range(2):
        manual -= sum(float(w[i, t]) * float(lb[i, t, b[i, t]] + lc[i, t, c[i, t]]) for t in range(3))
    assert float(chunk_loss(lb, lc, b, c, w)) == pytest.approx(manual / 2, rel=1e-5)
    assert float(chunk_loss(lb, lc, b, c, torch.ones(2, 3))) == pytest.approx(float(chunk_loss(lb, lc, b, c)))


def test_episode_skills_read_states_and_report_damage(tmp_path):
    frames = np.zeros((3, 128, 128, 3), np.uint8)
    actions = [{"forward": np.array([0])}] * 3
    path = save_episode(tmp_path, "ep", frames, actions, [None] * 3).path
    assert Episode(path).skills() is None  # no states.jsonl
    (path / "states.jsonl").write_text("".join(json.dumps({"skill": s}) + "\n" for s in ("a", "a", "b")))
    assert Episode(path).skills() == ["a", "a", "b"]
    (path / "states.jsonl").write_text('{"skill": "a"}\n{"ski')
    with pytest.raises(EpisodeError, match="states.jsonl"):
        Episode(path).skills()
