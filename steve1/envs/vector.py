"""Step several worlds side by side: send every action first, then wait once, so real-time worlds
(Minetest) overlap their tick instead of taking N ticks."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from steve1.envs.base import StepResult, World


class VectorWorld:
    """A list of worlds stepped together; each reset/step returns per-world lists. Closes them all."""

    def __init__(self, worlds: Sequence[World] | None = None, *, make: Callable[[int], World] | None = None,
                 n: int | None = None):
        if worlds is None:
            if make is None or not n or n < 1:
                raise ValueError("give either a list of worlds or make=callable(index) and n >= 1")
            worlds = []
            try:
                for i in range(n):
                    worlds.append(make(i))
            except BaseException:
                for world in worlds:
                    world.close()
                raise
        if not worlds:
            raise ValueError("VectorWorld needs at least one world")
        self.worlds = list(worlds)

    def __len__(self) -> int:
        return len(self.worlds)

    def reset(self, seeds: Sequence[int | None] | None = None,
              fresh_world: bool | None = None) -> tuple[list[dict], list[dict]]:
        seeds = [None] * len(self) if seeds is None else list(seeds)
        if len(seeds) != len(self):
            raise ValueError(f"got {len(seeds)} seeds for {len(self)} worlds")
        results = [w.reset(seed=s, fresh_world=fresh_world) for w, s in zip(self.worlds, seeds, strict=True)]
        return [r[0] for r in results], [r[1] for r in results]

    def step(self, actions: Sequence[dict]) -> list[StepResult]:
        if len(actions) != len(self):
            raise ValueError(f"got {len(actions)} actions for {len(self)} worlds")
        for world, action in zip(self.worlds, actions, strict=True):
            world.step_send(action)
        return [world.step_wait() for world in self.worlds]

    def close(self) -> None:
        errors = []
        for world in self.worlds:
            try:
                world.close()
            except Exception as err:  # close the others anyway
                errors.append(err)
        if errors:
            raise errors[0]

    def __enter__(self) -> VectorWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
