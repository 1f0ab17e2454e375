"""The MineRL adapter's logic against a stand-in `minerl` module (the real one needs Java 8 and gradle)."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from steve1.envs import make_world
from steve1.envs.minerl_world import ENV_KWARGS
from steve1.spaces import ACTION_KEYS, noop_action


class _FakeEnv:
    def __init__(self, log, crash_on_step=None):
        self.log, self.crash_on_step, self.steps = log, crash_on_step, 0

    def seed(self, seed):
        self.log.append(("seed", seed))

    def reset(self):
        self.log.append(("reset",))
        return self._obs()

    def _obs(self):
        return {"pov": np.zeros((360, 640, 3), np.uint8), "inventory": {"dirt": np.array(0)},
                "location_stats": {"xpos": np.float64(0.0), "yaw": np.float64(0.0)}}

    def step(self, action):
        self.steps += 1
        if self.steps == self.crash_on_step:
            raise RuntimeError("Minecraft process died")
        self.log.append(("step", sorted(action)))
        obs = self._obs()
        obs["inventory"]["dirt"] = np.array(self.steps)
        return obs, 0.0, False, {}

    def close(self):
        self.log.append(("close",))


@pytest.fixture
def fake_minerl(monkeypatch):
    log, made = [], []

    class HumanSurvival:
        def __init__(self, **kwargs):
            made.append(kwargs)

        def make(self):
            return _FakeEnv(log, crash_on_step=2 if len(made) == 1 else None)

    module = types.ModuleType("minerl.herobraine.env_specs.human_survival_specs")
    module.HumanSurvival = HumanSurvival
    for name in ("minerl", "minerl.herobraine", "minerl.herobraine.env_specs"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return log, made


def test_minerl_world_uses_steve1_settings_seeds_before_reset_and_recovers(fake_minerl):
    log, made = fake_minerl
    with make_world("minerl") as world:
        obs, info = world.reset(seed=42)
        assert made[0] == ENV_KWARGS and made[0]["fov_range"] == [70, 70]
        assert log[:2] == [("seed", 42), ("reset",)]  # the seed applies to this reset, not the next
        obs, _, _, truncated, info = world.step({"forward": 1})
        assert not truncated and obs["inventory"]["dirt"] == 1 and isinstance(obs["inventory"]["dirt"], int)
        assert log[-1] == ("step", sorted(ACTION_KEYS))  # every key sent, missing ones as 0
        obs, _, _, truncated, info = world.step(noop_action())  # the fake game dies on its second step
        assert truncated and info["restarted"] and "died" in info["fault"] and len(made) == 2
        assert ("close",) in log and log[-2:] == [("seed", 42), ("reset",)]
        with pytest.raises(ValueError, match="unknown action keys"):
            world.step({"fly": 1})
    assert log[-1] == ("close",)


# What MineRL 1.0.1's HumanSurvival reads: HumanControlEnvSpec takes resolution, guiscale_range, gamma_range,
# fov_range and cursor_size_range, and passes the rest to EnvSpec, which reads name, max_episode_steps,
# reward_threshold and agent_count and silently drops anything else (e.g. frameskip).
MINERL_1_0_READS = {"resolution", "guiscale_range", "gamma_range", "fov_range", "cursor_size_range", "name",
                    "max_episode_steps", "reward_threshold", "agent_count"}


def test_every_setting_passed_to_minerl_is_one_it_reads(fake_minerl):
    _, made = fake_minerl
    with make_world("minerl") as world:
        world.reset(seed=1)
    assert set(made[0]) <= MINERL_1_0_READS, f"MineRL 1.0 ignores {sorted(set(made[0]) - MINERL_1_0_READS)}"
    assert made[0]["resolution"] == [640, 360] and made[0]["cursor_size_range"] == [16.0, 16.0]
