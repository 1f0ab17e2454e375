"""The one interface every world speaks: Gymnasium-style reset/step/close with MineRL 1.0 shaped data.

Observation: `pov` (360, 640, 3) uint8 RGB, `inventory` {MineRL item name: count}, `location_stats`
{xpos, ypos, zpos, pitch, yaw} (degrees; positive pitch looks down, yaw grows turning right), `life_stats`
{life}. Action: the 24-key MineRL dict (steve1.spaces). `info` carries fault and restart reports.
"""
from __future__ import annotations

import abc

import numpy as np

StepResult = tuple[dict, float, bool, bool, dict]  # obs, reward, terminated, truncated, info


class World(abc.ABC):
    """A world an agent acts in; use as a context manager so that it is always closed."""

    name = "world"

    @abc.abstractmethod
    def reset(self, seed: int | None = None, fresh_world: bool | None = None) -> tuple[dict, dict]:
        """Start an episode in a fresh world. `seed` picks it (same seed, same terrain and spawn; None: a
        random one unless the world was made with a seed). fresh_world=False re-spawns in the running world
        instead, where the world can (faster; the world's changes stay)."""

    @abc.abstractmethod
    def step(self, action: dict) -> StepResult:
        """Apply one MineRL action for one tick (1/20 s of game time)."""

    @abc.abstractmethod
    def close(self) -> None:
        """End every process the world started; safe to call twice."""

    # Split stepping so that steve1.envs.scheduler can send to every world before waiting once for all.
    def step_send(self, action: dict) -> None:
        self._pending_action = action

    def step_wait(self) -> StepResult:
        return self.step(self._pending_action)

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_observation(pov: np.ndarray, inventory: dict, xyz, pitch: float, yaw: float, life: float) -> dict:
    """An observation dict in MineRL's layout."""
    return {
        "pov": pov,
        "inventory": inventory,
        "location_stats": {"xpos": float(xyz[0]), "ypos": float(xyz[1]), "zpos": float(xyz[2]),
                           "pitch": float(pitch), "yaw": float(yaw)},
        "life_stats": {"life": float(life)},
    }
