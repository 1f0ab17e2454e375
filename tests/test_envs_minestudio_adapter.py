"""The MineStudio adapter against a stand-in `minestudio` package built from what MineStudio's source does
(minestudio/simulator/entry.py and its MineRL fork): the real one needs Java 8 and a downloaded engine.

What the stand-in copies from MineStudio (behaviour, not code):
- `MinecraftSim(action_type, obs_size, render_size, seed=0, ...)` calls `check_engine()` first, which asks on
  stdin (input()) before downloading the engine and exits unless answered Y; then builds the MineRL env and
  seeds it once with `seed`;
- `reset()` takes no seed and returns ({"image": resized pov}, info); `step(action)` returns
  (obs, reward, terminated, truncated, info); info holds the MineRL observation merged with the monitors:
  `pov`, `inventory` as PlainInventoryObservation {slot: {"type", "quantity"}}, `location_stats`,
  `equipped_items`, stats; no `life_stats`;
- the 'env' action space has no ESC, drop or swapHands (those keys are dropped by the env).
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from steve1.envs import make_world
from steve1.envs.minerl_world import MINESTUDIO_ENGINE_JAR, MissingEngineError
from steve1.spaces import ACTION_KEYS, noop_action

MINESTUDIO_ENV_ACTIONS = {"attack", "back", "forward", "jump", "left", "right", "sneak", "sprint", "use",
                          "pickItem", "inventory", "camera", *(f"hotbar.{i}" for i in range(1, 10))}


class _FakeMineRLEnv:
    def __init__(self, log):
        self.log, self.steps = log, 0

    def seed(self, seed):
        self.log.append(("seed", seed))

    def reset(self):
        self.log.append(("reset",))

    def step(self, action):
        self.steps += 1
        self.log.append(("step", sorted(action)))
        got = {k: v for k, v in action.items() if k in MINESTUDIO_ENV_ACTIONS}  # the rest is dropped
        self.log.append(("used", sorted(got)))
        slots = {0: {"type": "oak_log", "quantity": 2}, 1: {"type": "air", "quantity": 0},
                 5: {"type": "oak_log", "quantity": self.steps}, 7: {"type": "dirt", "quantity": 3}}
        obs = {"pov": np.full((360, 640, 3), self.steps % 255, np.uint8), "inventory": slots,
               "equipped_items": {"mainhand": {"type": "air"}}, "use_item": {}}
        info = {"location_stats": {"xpos": np.float64(self.steps), "ypos": np.float64(64.0),
                                   "zpos": np.float64(0.0), "pitch": np.float64(0.0), "yaw": np.float64(0.0)},
                "isGuiOpen": False}
        return obs, 0.0, False, info

    def close(self):
        self.log.append(("close",))


@pytest.fixture
def fake_minestudio(monkeypatch, tmp_path):
    log, made = [], []
    engine_dir = tmp_path / "minestudio"

    def check_engine(skip_confirmation=False):
        if not (engine_dir / MINESTUDIO_ENGINE_JAR).is_file():
            if not skip_confirmation:
                if input("Detecting missing simulator engine, download it (Y/N)?\n") not in ("Y", "y"):
                    sys.exit(0)
            log.append(("download",))
            (engine_dir / MINESTUDIO_ENGINE_JAR).parent.mkdir(parents=True)
            (engine_dir / MINESTUDIO_ENGINE_JAR).write_bytes(b"jar")

    class MinecraftSim:
        def __init__(self, action_type="agent", obs_size=(224, 224), render_size=(640, 360), seed=0,
                     **kwargs):
            check_engine()
            made.append(dict(action_type=action_type, obs_size=obs_size, render_size=render_size, seed=seed,
                             **kwargs))
            self.env = _FakeMineRLEnv(log)
            self.env.seed(seed)
            self.info = {}

        def _wrap(self, obs, info):
            merged = {**info, **obs}
            self.info.update(merged)
            return {"image": obs["pov"][:224, :224]}, dict(self.info)

        def reset(self):
            self.env.reset()
            obs, _, _, info = self.env.step({})  # MineStudio skips empty frames after a reset
            return self._wrap(obs, info)

        def step(self, action):
            obs, reward, done, info = self.env.step(dict(action))
            obs, info = self._wrap(obs, info)
            return obs, reward, done, done, info

        def close(self):
            self.env.close()

    pkg = types.ModuleType("minestudio")
    sim = types.ModuleType("minestudio.simulator")
    sim.MinecraftSim = MinecraftSim
    entry = types.ModuleType("minestudio.simulator.entry")
    entry.check_engine = check_engine
    utils = types.ModuleType("minestudio.utils")
    utils.get_mine_studio_dir = lambda: str(engine_dir)
    for module in (pkg, sim, entry, utils):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return log, made, engine_dir


def _install_engine(engine_dir):
    (engine_dir / MINESTUDIO_ENGINE_JAR).parent.mkdir(parents=True)
    (engine_dir / MINESTUDIO_ENGINE_JAR).write_bytes(b"jar")


def test_missing_engine_is_a_clear_error_not_a_stdin_question(fake_minestudio, monkeypatch):
    log, made, _ = fake_minestudio
    monkeypatch.delenv("STEVE1_MINESTUDIO_DOWNLOAD", raising=False)
    monkeypatch.setattr("builtins.input", lambda *_: pytest.fail("the adapter let MineStudio ask on stdin"))
    with pytest.raises(MissingEngineError, match="minestudio.simulator.entry -y.*STEVE1_MINESTUDIO_DOWNLOAD"):
        make_world("minestudio")
    assert not made
    with make_world("minestudio", download_engine=True) as world:  # asked for: downloaded without a question
        world.reset(seed=3)
    assert ("download",) in log


def test_observation_inventory_location_seed_and_actions(fake_minestudio):
    log, made, engine_dir = fake_minestudio
    _install_engine(engine_dir)
    with make_world("minestudio", seed=7) as world:
        assert made[0]["seed"] == 7 and made[0]["action_type"] == "env"
        assert made[0]["obs_size"] == (640, 360) and made[0]["render_size"] == (640, 360)
        obs, info = world.reset()
        assert log[:3] == [("seed", 7), ("seed", 7), ("reset",)]  # seeded before the reset
        assert obs["pov"].shape == (360, 640, 3) and obs["pov"].dtype == np.uint8
        assert obs["inventory"]["oak_log"] == 2 + 1 and obs["inventory"]["dirt"] == 3
        assert "air" not in obs["inventory"] and obs["inventory"]["wheat_seeds"] == 0
        assert all(isinstance(v, int) for v in obs["inventory"].values())
        assert obs["location_stats"]["xpos"] == 1.0 and isinstance(obs["location_stats"]["xpos"], float)
        assert "life_stats" not in obs  # MineStudio has none; nothing made up
        obs, _, terminated, truncated, info = world.step({"forward": 1, "drop": 1, "ESC": 1})
        assert obs["inventory"]["oak_log"] == 2 + 2 and not (terminated or truncated)
        assert info["ignored_actions"] == ["ESC", "drop"]
        sent = next(e for e in reversed(log) if e[0] == "step")[1]
        assert set(sent) == set(ACTION_KEYS) - {"ESC", "drop", "swapHands"}  # every key MineStudio has
        _, _, _, _, info = world.step(noop_action())
        assert info["ignored_actions"] == []
    assert log[-1] == ("close",)


def test_unseeded_worlds_differ(fake_minestudio):
    _, made, engine_dir = fake_minestudio
    _install_engine(engine_dir)
    for _ in range(2):
        make_world("minestudio").close()
    assert made[0]["seed"] != made[1]["seed"]  # MineStudio's default seed 0 would make every world the same
