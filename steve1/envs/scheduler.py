"""One scheduler for running episodes over N worlds: a queue of jobs, N world slots, retries on world faults.

    scheduler = WorldScheduler(make_world=lambda slot: make_world("minetest"), n_worlds=2, max_retries=2)
    failures = scheduler.run(jobs, task)      # every job run to its end (or failed after its retries)
    scheduler.close()                         # (run() closes its worlds itself; close() is for safety)

A job is any object with `key` (unique str), `seed` (world seed or None), `attempts` (int, counted here)
and `faults` (list, appended here). The `task` says what an episode does (see `EpisodeTask`):

    start(slot, job, world, obs, info) -> state    after the world's reset(seed=job.seed); a non-setup
                                                    error here is a fault too (it may call the world)
    act(slots, states) -> actions                   one batched call for every busy slot
    step(slot, state, action, obs, reward, terminated, truncated, info) -> bool   True: episode finished
    abandon(slot, state, message)                   a fault: discard the episode's partial output
    stop(slot, state, error)                        the run ends early (Ctrl-C, setup error) with it running

Free slots get their next jobs together: the worlds' resets (a game start takes seconds) run at once on
threads, then `start` is called for each in slot order on the caller's thread. Each scheduler step: `act` for
the busy slots, `step_send` to every one of their worlds, then `step_wait`
on each (real-time worlds overlap their ticks). A fault, that is an exception from a world (reset or step)
or a step the world reports as `truncated` with `info["fault"]` (the Minetest world restarted itself),
abandons that episode: `abandon` discards its output, a world that raised is closed and replaced (one that
restarted itself is kept), and the job goes back to the front of the queue to run again from its seed, up to
`max_retries` times; after that it is reported as failed (`on_failed`, and in run()'s return). Exceptions
that say the setup is wrong (SETUP_ERRORS) are never retried: they are raised. Every world is closed when
run() returns or raises, so no game process outlives it.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

log = logging.getLogger("steve1.envs.scheduler")

# Exceptions that mean the setup is wrong, not that a world crashed: never retried.
SETUP_ERRORS = (FileNotFoundError, ImportError, TypeError, ValueError, KeyError, NotImplementedError)


class Job(Protocol):
    key: str
    seed: int | None
    attempts: int
    faults: list


class EpisodeTask(Protocol):
    def start(self, slot: int, job: Any, world: Any, obs: dict, info: dict) -> Any: ...

    def act(self, slots: list[int], states: list) -> list[dict]: ...

    def step(self, slot: int, state: Any, action: dict, obs: dict, reward: float, terminated: bool,
             truncated: bool, info: dict) -> bool: ...

    def abandon(self, slot: int, state: Any, message: str) -> None: ...

    def stop(self, slot: int, state: Any, error: BaseException) -> None: ...


class WorldScheduler:
    """Runs jobs over `n_worlds` worlds made on demand by `make_world(slot)`."""

    def __init__(self, make_world: Callable[[int], Any], n_worlds: int, max_retries: int = 2,
                 on_failed: Callable[[Any, str], None] | None = None):
        if n_worlds < 1:
            raise ValueError(f"n_worlds must be >= 1, got {n_worlds}")
        self.make_world = make_world
        self.n_worlds = n_worlds
        self.max_retries = max_retries
        self.on_failed = on_failed
        self.worlds: list[Any | None] = [None] * n_worlds
        self.failures: list[tuple[str, str]] = []

    # ---------------------------------------------------------------- worlds
    def world(self, slot: int) -> Any:
        if self.worlds[slot] is None:
            self.worlds[slot] = self.make_world(slot)
        return self.worlds[slot]

    def drop_world(self, slot: int) -> None:
        world, self.worlds[slot] = self.worlds[slot], None
        if world is not None:
            try:
                world.close()
            except Exception as err:  # noqa: BLE001 - a crashed world may fail to close; it is gone anyway
                log.warning("closing world %d failed: %s", slot, err)

    def close(self) -> None:
        for slot in range(self.n_worlds):
            self.drop_world(slot)

    # ---------------------------------------------------------------- faults
    def _fault(self, slot: int, job, message: str, queue: deque, keep_world: bool) -> None:
        if not keep_world:
            self.drop_world(slot)
        job.attempts += 1
        job.faults.append(message)
        if job.attempts <= self.max_retries:
            log.warning("world %d fault in episode %s (%s); retrying it (%d/%d)", slot, job.key, message,
                        job.attempts, self.max_retries)
            queue.appendleft(job)
            return
        log.error("episode %s failed after %d retries: %s", job.key, self.max_retries, message)
        self.failures.append((job.key, message))
        if self.on_failed is not None:
            self.on_failed(job, message)

    def _reset(self, slot: int, job) -> tuple[dict, dict]:
        obs, info = self.world(slot).reset(seed=job.seed)
        return obs, info or {}

    def _resets(self, picks: list[tuple[int, Any]]) -> list[tuple[dict, dict] | BaseException]:
        """Reset the worlds of (slot, job) picks, several at once on threads; an error is returned."""
        def attempt(slot: int, job) -> tuple[dict, dict] | BaseException:
            try:
                return self._reset(slot, job)
            except Exception as err:  # noqa: BLE001 - judged by the caller, on its own thread
                return err

        if len(picks) == 1:
            return [attempt(*picks[0])]
        with ThreadPoolExecutor(len(picks), thread_name_prefix="steve1-world-reset") as pool:
            return list(pool.map(attempt, *zip(*picks, strict=True)))

    def _fill(self, running: list, queue: deque, task: EpisodeTask) -> None:
        """Start the next jobs in the free slots (a job whose start faults goes back to the queue's front)."""
        while queue:
            free = [i for i in range(self.n_worlds) if running[i] is None]
            if not free:
                return
            picks = [(i, queue.popleft()) for i in free[: len(queue)]]
            for (slot, job), result in zip(picks, self._resets(picks), strict=True):
                try:
                    if isinstance(result, BaseException):
                        raise result
                    obs, info = result
                    # (start may call the world too, e.g. give items)
                    running[slot] = (job, task.start(slot, job, self.worlds[slot], obs, info))
                except SETUP_ERRORS:
                    raise
                except Exception as err:  # noqa: BLE001 - any other world error is a crash: retry
                    self._fault(slot, job, f"reset: {type(err).__name__}: {err}", queue, keep_world=False)

    # ---------------------------------------------------------------- the loop
    def run(self, jobs: Sequence, task: EpisodeTask) -> list[tuple[str, str]]:
        """Run every job; returns (key, last fault) of the jobs that failed after their retries."""
        keys = [j.key for j in jobs]
        if len(set(keys)) != len(keys):
            repeated = sorted({k for k in keys if keys.count(k) > 1})  # error path only
            raise ValueError(f"episode keys must be unique; repeated: {repeated[:5]} (give each job its own)")
        queue: deque = deque(jobs)
        running: list[tuple[Any, Any] | None] = [None] * self.n_worlds  # (job, state) per slot
        try:
            while queue or any(r is not None for r in running):
                self._fill(running, queue, task)
                busy = [i for i in range(self.n_worlds) if running[i] is not None]
                if not busy:
                    continue
                actions = task.act(busy, [running[i][1] for i in busy])
                sent = []
                for i, action in zip(busy, actions, strict=True):
                    world = self.worlds[i]
                    if not hasattr(world, "step_send"):
                        sent.append((i, action))
                        continue
                    try:
                        world.step_send(action)
                        sent.append((i, action))
                    except SETUP_ERRORS:
                        raise
                    except Exception as err:  # noqa: BLE001
                        self._abandon(i, running, task, f"step: {type(err).__name__}: {err}", queue, False)
                for i, action in sent:
                    job, state = running[i]
                    world = self.worlds[i]
                    try:
                        if hasattr(world, "step_send"):
                            obs, reward, terminated, truncated, info = world.step_wait()
                        else:
                            obs, reward, terminated, truncated, info = world.step(action)
                    except SETUP_ERRORS:
                        raise
                    except Exception as err:  # noqa: BLE001
                        self._abandon(i, running, task, f"step: {type(err).__name__}: {err}", queue, False)
                        continue
                    info = info or {}
                    if truncated and info.get("fault"):
                        # the world restarted itself: the episode is broken, but the world can be reused
                        self._abandon(i, running, task, f"step: {info['fault']}", queue, keep_world=True)
                        continue
                    if task.step(i, state, action, obs, reward, terminated, truncated, info):
                        running[i] = None
        except BaseException as err:
            for i, r in enumerate(running):
                if r is not None:
                    running[i] = None
                    task.stop(i, r[1], err)
            raise
        finally:
            self.close()
        return self.failures

    def _abandon(self, slot: int, running: list, task: EpisodeTask, message: str, queue: deque,
                 keep_world: bool) -> None:
        job, state = running[slot]
        running[slot] = None
        task.abandon(slot, state, message)
        self._fault(slot, job, message, queue, keep_world)
