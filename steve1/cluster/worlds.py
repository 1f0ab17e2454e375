"""A world per Ray actor, used as a local world is: `remote_world_factory` gives the `make_world(slot)` that
steve1.envs.scheduler calls, and what it returns behaves as a world (reset, step_send/step_wait, step, close,
and `give` when the world has it).

The scheduler sends every busy world its action before it waits for any (`step_send` submits the actor's
step, `step_wait` fetches it), so the worlds of a batch step at once, each on its own CPU of the cluster.
A world whose actor dies (its node lost, its process killed) raises from `reset`/`step_wait` like a crashed
local world: the scheduler closes it, makes a new actor and reruns the episode from its seed. An error that
says the setup is wrong (e.g. a world option the world does not take) keeps its type through Ray (a
TypeError stays a TypeError) and stops the run as locally.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

from steve1.cluster.runtime import TASK_CPUS, connect

log = logging.getLogger("steve1.cluster")

WorldFactory = Callable[[int], "RemoteWorld"]  # slot -> a world in its own actor
OPTIONAL_METHODS = ("give",)  # world methods beyond the protocol that callers look for with getattr
CLOSE_TIMEOUT_S = 60


class WorldActor:
    """One world in a Ray actor process (the world is made by `start`, so its errors keep their type)."""

    def __init__(self, name: str, kwargs: dict):
        self.name, self.kwargs, self.world = name, kwargs, None

    def start(self) -> list[str]:
        from steve1.envs import make_world

        self.world = make_world(self.name, **self.kwargs)
        return [m for m in OPTIONAL_METHODS if callable(getattr(self.world, m, None))]

    def reset(self, seed: int | None = None):
        return self.world.reset(seed=seed)

    def step(self, action: dict):
        return self.world.step(action)

    def call(self, method: str, *args):
        return getattr(self.world, method)(*args)

    def pids(self) -> dict[str, int | None]:
        """This actor's process and its world's (game, display) processes, for diagnostics."""
        return {"actor": os.getpid(), **(getattr(self.world, "pids", None) or {})}

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None


class RemoteWorld:
    """The driver's handle on a WorldActor, with a local world's methods."""

    def __init__(self, actor, methods: list[str]):
        import ray

        self._ray, self.actor, self._step = ray, actor, None
        for method in methods:
            setattr(self, method, self._caller(method))

    def _caller(self, method: str) -> Callable:
        return lambda *args: self._ray.get(self.actor.call.remote(method, *args))

    def reset(self, seed: int | None = None):
        return self._ray.get(self.actor.reset.remote(seed=seed))

    def step_send(self, action: dict) -> None:
        self._step = self.actor.step.remote(action)

    def step_wait(self):
        ref, self._step = self._step, None
        return self._ray.get(ref)

    def step(self, action: dict):
        self.step_send(action)
        return self.step_wait()

    def close(self) -> None:
        try:
            self._ray.get(self.actor.close.remote(), timeout=CLOSE_TIMEOUT_S)
        except Exception as err:  # noqa: BLE001 - a dead actor cannot close its world; Ray ends its process
            log.debug("closing a world actor: %s", err)
        self._ray.kill(self.actor)


def remote_world_factory(name: str, kwargs: dict | None = None, num_cpus: float = TASK_CPUS,
                         num_gpus: float = 0.0, ray_option: str | None = None) -> WorldFactory:
    """`make_world(slot)` for the scheduler: each call starts a world `name` (made with `kwargs`) in a new
    Ray actor. Connects to Ray first (`ray_option`: the verb's --ray) unless it is initialised already."""
    ray = connect(ray_option)

    actor_class = ray.remote(WorldActor).options(num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=0)
    kwargs = dict(kwargs or {})

    def make(slot: int) -> RemoteWorld:
        actor = actor_class.remote(name, kwargs)
        try:
            methods = ray.get(actor.start.remote())
        except BaseException:
            ray.kill(actor)
            raise
        log.info("world %d: %s in a Ray actor", slot, name)
        return RemoteWorld(actor, methods)

    return make
