"""Scripted skills in the real Minetest game (Debian packages minetest + xvfb): the bridge mod's senses
reach `info["senses"]`, and two skills reach their goals from a fresh spawn."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.data import skills as S
from steve1.envs import make_world
from steve1.envs.minetest import minetest_available
from steve1.spaces import noop_action

pytestmark = [pytest.mark.minetest, pytest.mark.skipif(minetest_available() is not None,
                                                       reason=str(minetest_available()))]
SEED = S.GRASS_SEEDS[0]  # grassland: dirt under the feet at the spawn
SETTLE_STEPS = 10


@pytest.fixture(scope="module")
def world():
    with make_world("minetest", seed=SEED, hang_timeout_s=20.0) as w:
        yield w


def _run(world, skill: str, fresh: bool) -> tuple[int | None, dict]:
    world.reset(seed=SEED, fresh_world=fresh)
    for _ in range(SETTLE_STEPS):
        obs, _, _, _, info = world.step(noop_action())
    agent = S.make_skill_agent(skill, seed=0)
    agent.reset(1)
    obs = {**obs, S.SENSES_KEY: info["senses"]}
    goal = S.SkillGoal(skill, obs)
    for t in range(1, agent.time_limit + 1):
        obs, _, _, truncated, info = world.step(agent.act([obs], [0])[0])
        assert not truncated, info.get("fault")
        obs = {**obs, S.SENSES_KEY: info["senses"]}
        if goal.update(obs):
            return t, obs
    return None, obs


def test_senses_reach_info_in_minetest_coordinates(world):
    _, info = world.reset(seed=SEED)
    assert isinstance(info["senses"], dict)
    for _ in range(SETTLE_STEPS):
        obs, _, _, _, info = world.step(noop_action())
    senses = info["senses"]
    loc = obs["location_stats"]
    assert senses["in_water"] is False
    np.testing.assert_allclose(senses["feet"], [loc["xpos"], loc["ypos"], loc["zpos"]], atol=0.5)
    assert senses["eye"][1] - senses["feet"][1] == pytest.approx(1.47, abs=0.01)
    dirt = senses["dirt"]  # grassland spawn: dirt (with grass) within reach
    np.testing.assert_allclose(np.array(dirt["pos"]) - senses["eye"], dirt["rel"], atol=1e-6)
    assert dirt["name"] in S.DIRT_NODES and np.linalg.norm(dirt["rel"]) < 4
    assert len(senses["hotbar"]) == S.HOTBAR_SLOTS and senses["headroom"] >= 0 and senses["us"] >= 0


def test_dig_dirt_gets_dirt_in_the_real_game(world):
    steps, obs = _run(world, "dig_dirt", fresh=False)
    assert steps is not None, f"no dirt within {S.DigDirt.time_limit} steps: {obs['inventory']}"
    assert obs["inventory"]["dirt"] >= 1


def test_look_at_sky_in_the_real_game(world):
    steps, obs = _run(world, "look_at_sky", fresh=False)
    assert steps is not None, f"pitch {obs['location_stats']['pitch']}"
    assert obs["location_stats"]["pitch"] <= S.SKY_PITCH
