"""Real Minecraft behind steve1's interface: MineRL 1.0 `HumanSurvival`, or MineStudio's simulator.

Both are imported lazily, so steve1 works without them. STEVE-1's settings (ENV_KWARGS): fov 70, gamma 2,
GUI scale 1, 640x360, cursor size 16 (one game tick per step: MineRL 1.0 has no frameskip setting; the
original passed `frameskip=1`, which MineRL 1.0 accepts and ignores, so it is not passed here).

MineStudio differs from MineRL in what it returns and accepts, and the adapter evens that out: its
inventory is per slot ({slot: {"type", "quantity"}}) and is summed into {item: count}; `location_stats`
comes in its info; it has no `life_stats` (left out of the observation); its actions have no `ESC`, `drop`
or `swapHands` (pressing one is reported in `info["ignored_actions"]`); its constructor takes the world seed
and, when its engine is missing, asks on stdin before downloading it (here: a clear error instead, or the
download without asking with `download_engine=True` / STEVE1_MINESTUDIO_DOWNLOAD=1).

Difference from the original STEVE-1 (fixed, documented): it calls `env.seed(seed)` *after* `env.reset()`,
so a seed only took effect at the next reset; here the seed is applied before the reset it is meant for.
"""
from __future__ import annotations

import logging
import os
import random
import weakref
from pathlib import Path

import numpy as np

from steve1.envs.base import StepResult, World
from steve1.envs.items import TRACKED_ITEMS
from steve1.spaces import (
    CAMERA_KEY,
    FOV_DEGREES,
    POV_HEIGHT,
    POV_SHAPE,
    POV_WIDTH,
    noop_action,
    validate_action,
)

log = logging.getLogger("steve1.envs")

ENV_KWARGS = dict(  # STEVE-1's HumanSurvival settings (the keyword arguments MineRL 1.0 reads)
    fov_range=[FOV_DEGREES, FOV_DEGREES],
    gamma_range=[2, 2],
    guiscale_range=[1, 1],
    resolution=[POV_WIDTH, POV_HEIGHT],
    cursor_size_range=[16.0, 16.0],
)

MINERL_INSTALL_HINT = (
    "MineRL 1.0 is not installed. It needs Java 8 (JDK) and builds Minecraft with gradle at install time: "
    "`sudo apt-get install openjdk-8-jdk` then `pip install git+https://github.com/minerllabs/minerl@v1.0.1` "
    "(see https://minerl.readthedocs.io). Without it, use make_world('minetest') or make_world('minestudio')."
)
MINESTUDIO_INSTALL_HINT = (
    "MineStudio is not installed: `pip install minestudio` (needs Java 8; it downloads its simulator engine "
    "on first use, no gradle build). Without it, use make_world('minetest')."
)
MINESTUDIO_ENGINE_JAR = Path("engine", "build", "libs", "mcprec-6.13.jar")  # under MineStudio's folder
MINESTUDIO_DOWNLOAD_ENV = "STEVE1_MINESTUDIO_DOWNLOAD"
MINESTUDIO_UNSUPPORTED_ACTIONS = ("ESC", "drop", "swapHands")  # keys MineStudio's action space lacks


class MissingEngineError(FileNotFoundError):
    """MineStudio's simulator engine is not downloaded yet."""


def full_action(action: dict) -> dict:
    """A validated MineRL action with every key present (missing buttons 0) and camera as float32 (2,)."""
    if not isinstance(action, dict):
        raise TypeError(f"an action must be a dict of MineRL keys, got {type(action).__name__}")
    validate_action(action)
    full = noop_action()
    for key, value in action.items():
        full[key] = int(np.asarray(value).reshape(-1)[0]) if key != CAMERA_KEY else \
            np.asarray(value, dtype=np.float32).reshape(2)
    return full


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    return value


def standard_observation(obs: dict) -> dict:
    """A MineRL observation with plain Python numbers (counts as int) and pov checked to be (360, 640, 3)."""
    pov = np.asarray(obs["pov"])
    if pov.shape != POV_SHAPE or pov.dtype != np.uint8:
        raise RuntimeError(f"the game returned pov {pov.shape} {pov.dtype}; expected {POV_SHAPE} uint8 "
                           "(check that the env was made with resolution [640, 360])")
    out = {key: _plain(value) for key, value in obs.items() if key != "pov"}
    out["pov"] = pov
    out["inventory"] = {k: int(v) for k, v in out.get("inventory", {}).items()}
    return out


class MineRLWorld(World):
    """MineRL 1.0 `HumanSurvival` with STEVE-1's settings. Every reset makes a fresh world (MineRL's
    force_reset), so `fresh_world` is ignored. If the game crashes, the env is re-made and reset, the step
    returns truncated=True and `info["fault"]` says why."""

    name = "minerl"

    def __init__(self, seed: int | None = None, **env_kwargs):
        try:
            from minerl.herobraine.env_specs.human_survival_specs import HumanSurvival
        except ImportError as err:
            raise ImportError(MINERL_INSTALL_HINT) from err
        self._make = lambda: HumanSurvival(**{**ENV_KWARGS, **env_kwargs}).make()
        self.seed = seed
        self.restarts = 0
        self._env = self._make()
        self._finalizer = weakref.finalize(self, _close_quietly, self._env)  # closed even if forgotten

    def reset(self, seed: int | None = None, options: dict | None = None,
              fresh_world: bool | None = None) -> tuple[dict, dict]:
        if self._env is None:
            raise RuntimeError("this world is closed; make a new one")
        if seed is not None:
            self.seed = seed
        if self.seed is not None:
            self._env.seed(int(self.seed))  # before the reset it is meant for
        obs = self._env.reset()
        return standard_observation(obs), {"seed": self.seed, "fresh_world": True, "faults": []}

    def step(self, action: dict) -> StepResult:
        if self._env is None:
            raise RuntimeError("this world is closed; make a new one")
        full = full_action(action)
        try:
            obs, reward, done, info = self._env.step(full)
        except Exception as err:  # the Minecraft process died: re-make it, start a new episode
            fault = f"step: {type(err).__name__}: {err}"
            self._restart()
            obs, info = self.reset()
            info.update(fault=fault, faults=[fault], restarted=True)
            return obs, 0.0, False, True, info
        info = dict(info or {})
        info.setdefault("fault", None)
        return standard_observation(obs), float(reward), bool(done), False, info

    def _restart(self) -> None:
        self.restarts += 1
        self._finalizer()
        self._env = self._make()
        self._finalizer = weakref.finalize(self, _close_quietly, self._env)

    def close(self) -> None:
        if self._env is not None:
            self._env = None
            self._finalizer()


def minestudio_inventory(slots: dict) -> dict[str, int]:
    """MineStudio's per-slot inventory {slot: {"type": name, "quantity": n}} -> {MineRL item name: count}."""
    inventory = dict.fromkeys(TRACKED_ITEMS, 0)
    for item in slots.values():
        name = str(item.get("type", "air")).removeprefix("minecraft:")
        count = int(np.asarray(item.get("quantity", 0)).reshape(-1)[0])
        if name != "air" and count > 0:
            inventory[name] = inventory.get(name, 0) + count
    return inventory


def minestudio_observation(info: dict) -> dict:
    """MineStudio's info (its MineRL observation merged with the monitors) -> a steve1 observation."""
    missing = [k for k in ("pov", "inventory", "location_stats") if k not in info]
    if missing:
        raise RuntimeError(f"MineStudio's info lacks {missing}: not the MinecraftSim this adapter knows")
    obs = standard_observation({k: v for k, v in info.items() if k != "inventory"})
    obs["inventory"] = minestudio_inventory(info["inventory"])
    return obs


def ensure_minestudio_engine(download: bool) -> None:
    """Make sure MineStudio's engine is there before MinecraftSim is built (its own check asks on stdin)."""
    from minestudio.utils import get_mine_studio_dir

    jar = Path(get_mine_studio_dir()) / MINESTUDIO_ENGINE_JAR
    if jar.is_file():
        return
    if not download:
        raise MissingEngineError(
            f"MineStudio's simulator engine is not downloaded ({jar} is missing): run `python -m "
            f"minestudio.simulator.entry -y` once, or set {MINESTUDIO_DOWNLOAD_ENV}=1 to let steve1 fetch it")
    from minestudio.simulator.entry import check_engine

    check_engine(skip_confirmation=True)


class MineStudioWorld(World):
    """MineStudio's `MinecraftSim` (the same Minecraft, installed without gradle), with STEVE-1's settings
    and MineRL-style actions (action_type='env'); the observation is MineRL's, taken from its info (see the
    module docstring for what is evened out)."""

    name = "minestudio"

    def __init__(self, seed: int | None = None, download_engine: bool | None = None, **sim_kwargs):
        try:
            from minestudio.simulator import MinecraftSim
        except ImportError as err:
            raise ImportError(MINESTUDIO_INSTALL_HINT) from err
        if download_engine is None:
            download_engine = os.environ.get(MINESTUDIO_DOWNLOAD_ENV) == "1"
        ensure_minestudio_engine(download_engine)
        # MinecraftSim seeds its world in the constructor (default 0: always the same world); no seed here
        # means a random world, as in the other worlds
        first_seed = int(seed) if seed is not None else random.randrange(2**31)
        self._make = lambda: MinecraftSim(action_type="env", render_size=(POV_WIDTH, POV_HEIGHT),
                                          obs_size=(POV_WIDTH, POV_HEIGHT), seed=first_seed, **sim_kwargs)
        self.seed = seed
        self.restarts = 0
        self._warned: set[str] = set()
        self._sim = self._make()
        self._finalizer = weakref.finalize(self, _close_quietly, self._sim)

    def _obs(self, info: dict) -> dict:
        return standard_observation(info)  # MineStudio copies MineRL's full observation into info

    def reset(self, seed: int | None = None, options: dict | None = None,
              fresh_world: bool | None = None) -> tuple[dict, dict]:
        if self._sim is None:
            raise RuntimeError("this world is closed; make a new one")
        if seed is not None:
            self.seed = seed
        if self.seed is not None:
            self._sim.env.seed(int(self.seed))  # the MineRL env inside, before the reset
        _, info = self._sim.reset()
        return minestudio_observation(info), {"seed": self.seed, "fresh_world": True, "faults": []}

    def _sim_action(self, action: dict) -> tuple[dict, list[str]]:
        """The full action without the keys MineStudio lacks; the names of those that were pressed."""
        full = full_action(action)
        ignored = [k for k in MINESTUDIO_UNSUPPORTED_ACTIONS if full.pop(k, 0)]
        for key in set(ignored) - self._warned:
            log.warning("MineStudio has no %r action: ignored (reported in info['ignored_actions'])", key)
            self._warned.add(key)
        return full, ignored

    def step(self, action: dict) -> StepResult:
        if self._sim is None:
            raise RuntimeError("this world is closed; make a new one")
        sim_action, ignored = self._sim_action(action)
        try:
            _, reward, terminated, truncated, info = self._sim.step(sim_action)
        except Exception as err:
            fault = f"step: {type(err).__name__}: {err}"
            self.restarts += 1
            self._finalizer()
            self._sim = self._make()
            self._finalizer = weakref.finalize(self, _close_quietly, self._sim)
            obs, info = self.reset()
            info.update(fault=fault, faults=[fault], restarted=True, ignored_actions=ignored)
            return obs, 0.0, False, True, info
        return minestudio_observation(info), float(reward), bool(terminated), bool(truncated), \
            {"fault": None, "ignored_actions": ignored}

    def close(self) -> None:
        if self._sim is not None:
            self._sim = None
            self._finalizer()


def _close_quietly(env) -> None:
    try:
        env.close()
    except Exception:  # a crashed game may fail to close; its processes are gone either way
        pass
