"""Minetest as steve1's embedded world: process supervision, display I/O, controls and the bridge mod."""
from steve1.envs.minetest.world import MinetestWorld, WorldFault, minetest_available

__all__ = ["MinetestWorld", "WorldFault", "minetest_available"]
