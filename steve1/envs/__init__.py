"""Worlds behind one MineRL-shaped interface: Minetest (embedded) and MineRL 1.0 (real Minecraft).

    with make_world("minetest", seed=12345) as world:
        obs, info = world.reset()
        obs, reward, terminated, truncated, info = world.step(noop_action())

Many worlds at once, with retries of the episodes whose world faulted: `WorldScheduler` (scheduler.py).
"""
from __future__ import annotations

from steve1.envs.base import World, make_observation
from steve1.envs.scheduler import WorldScheduler

WORLD_NAMES = ("minetest", "minerl", "minestudio")


def make_world(name: str = "minetest", **kwargs) -> World:
    """A world by name: 'minetest' (embedded, needs the Debian packages minetest and xvfb), 'minerl'
    (MineRL 1.0 HumanSurvival) or 'minestudio' (MineStudio's MinecraftSim). kwargs go to its constructor."""
    if name == "minetest":
        from steve1.envs.minetest import MinetestWorld

        return MinetestWorld(**kwargs)
    if name == "minerl":
        from steve1.envs.minerl_world import MineRLWorld

        return MineRLWorld(**kwargs)
    if name == "minestudio":
        from steve1.envs.minerl_world import MineStudioWorld

        return MineStudioWorld(**kwargs)
    raise ValueError(f"unknown world {name!r}; choose one of {WORLD_NAMES}")


__all__ = ["WORLD_NAMES", "World", "make_observation", "make_world", "WorldScheduler"]
