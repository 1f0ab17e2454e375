"""The world scheduler with fake worlds: faults rerun the job from its seed, nothing lost, worlds closed."""
from __future__ import annotations

import pytest

from steve1.envs.scheduler import WorldScheduler


class Job:
    def __init__(self, key, seed):
        self.key, self.seed, self.attempts, self.faults = key, seed, 0, []


class World:
    """Counts steps; `crash_at`/`restart_at`/`interrupt_at`: {(seed, step): times} shared by all worlds."""

    def __init__(self, log, crash_at=None, restart_at=None, interrupt_at=None, split=True):
        self.log, self.closed, self.t = log, False, 0
        self.crash_at, self.restart_at = crash_at or {}, restart_at or {}
        self.interrupt_at = interrupt_at or {}
        if split:
            self.step_send = lambda action: setattr(self, "pending", action)
            self.step_wait = lambda: self.step(self.pending)

    def reset(self, seed=None):
        assert not self.closed
        self.seed, self.t = seed, 0
        return {"t": 0}, {}

    def step(self, action):
        self.t += 1
        key = (self.seed, self.t)
        for table, kind in ((self.crash_at, "crash"), (self.restart_at, "restart"),
                            (self.interrupt_at, "interrupt")):
            if table.get(key, 0) > 0:
                table[key] -= 1
                self.log.append((kind, *key))
                if kind == "crash":
                    raise RuntimeError(f"game died at {self.t}")
                if kind == "interrupt":
                    raise KeyboardInterrupt
                self.t = 0
                return {"t": 0}, 0.0, False, True, {"fault": "game restarted"}
        return {"t": self.t}, 0.0, False, False, {}

    def close(self):
        self.closed = True


class Task:
    """Episodes of `n` steps; output: the list of observed steps, kept only for finished episodes."""

    def __init__(self, n=5):
        self.n, self.done, self.abandoned, self.stopped, self.acted = n, {}, [], [], []

    def start(self, slot, job, world, obs, info):
        return {"job": job, "seen": [obs["t"]]}

    def act(self, slots, states):
        self.acted.append(list(slots))
        return [{"slot": s} for s in slots]

    def step(self, slot, state, action, obs, reward, terminated, truncated, info):
        assert action == {"slot": slot}
        state["seen"].append(obs["t"])
        if len(state["seen"]) > self.n:
            self.done[state["job"].key] = state["seen"]
            return True
        return False

    def abandon(self, slot, state, message):
        self.abandoned.append((state["job"].key, message))

    def stop(self, slot, state, error):
        self.stopped.append((state["job"].key, type(error).__name__))


def _run(n_worlds=2, jobs=4, max_retries=2, **faults):
    log, made = [], []

    def make(slot):
        made.append(World(log, **faults, split=slot % 2 == 0))
        return made[-1]

    task = Task()
    scheduler = WorldScheduler(make, n_worlds, max_retries)
    failures = scheduler.run([Job(f"j{k}", 100 + k) for k in range(jobs)], task)
    return task, failures, made, log


def test_every_job_runs_to_its_end_over_fewer_worlds():
    task, failures, made, _ = _run()
    assert failures == [] and len(made) == 2 and all(w.closed for w in made)
    assert task.done == {f"j{k}": [0, 1, 2, 3, 4, 5] for k in range(4)}
    assert max(len(s) for s in task.acted) == 2  # the act call is batched over the busy slots


def test_a_world_raising_mid_episode_is_replaced_and_the_job_rerun_from_its_seed():
    task, failures, made, log = _run(crash_at={(101, 3): 1})
    assert failures == [] and ("crash", 101, 3) in log
    assert len(made) == 3 and all(w.closed for w in made)  # the crashed world was closed and replaced
    assert task.done == {f"j{k}": [0, 1, 2, 3, 4, 5] for k in range(4)}  # the rerun episode is whole
    assert [k for k, _ in task.abandoned] == ["j1"] and "game died at 3" in task.abandoned[0][1]


def test_a_world_that_restarted_itself_is_kept_and_the_job_rerun():
    task, failures, made, log = _run(n_worlds=1, jobs=2, restart_at={(100, 2): 1})
    assert failures == [] and len(made) == 1 and ("restart", 100, 2) in log
    assert task.done == {"j0": [0, 1, 2, 3, 4, 5], "j1": [0, 1, 2, 3, 4, 5]}
    assert task.abandoned == [("j0", "step: game restarted")]


def test_a_job_that_keeps_faulting_fails_after_max_retries_and_the_others_finish():
    task, failures, made, _ = _run(max_retries=2, crash_at={(100, 1): 99})
    assert [k for k, _ in failures] == ["j0"] and "game died" in failures[0][1]
    assert sorted(task.done) == ["j1", "j2", "j3"] and len(task.abandoned) == 3
    assert all(w.closed for w in made)


def test_setup_errors_and_ctrl_c_stop_the_run_and_close_every_world():
    log, made = [], []

    class Broken(World):
        def step(self, action):
            raise TypeError("bad action")

    def make(slot):
        made.append(Broken(log) if slot == 1 else World(log))
        return made[-1]

    task = Task()
    with pytest.raises(TypeError, match="bad action"):
        WorldScheduler(make, 2).run([Job("a", 1), Job("b", 2)], task)
    assert all(w.closed for w in made) and sorted(task.stopped) == [("a", "TypeError"), ("b", "TypeError")]
    with pytest.raises(KeyboardInterrupt):
        _run(interrupt_at={(102, 2): 1})
    with pytest.raises(ValueError, match="unique"):
        WorldScheduler(make, 1).run([Job("a", 1), Job("a", 2)], Task())


def test_ctrl_c_hands_the_running_episodes_to_stop():
    log, made = [], []
    task = Task()

    def make(slot):
        made.append(World(log, interrupt_at={(101, 3): 1}))
        return made[-1]

    with pytest.raises(KeyboardInterrupt):
        WorldScheduler(make, 2).run([Job(f"j{k}", 100 + k) for k in range(3)], task)
    assert sorted(task.stopped) == [("j0", "KeyboardInterrupt"), ("j1", "KeyboardInterrupt")]
    assert all(w.closed for w in made)


def test_free_slots_reset_their_worlds_at_once_and_a_reset_fault_is_retried():
    import threading

    log, made = [], []
    together = threading.Barrier(3, timeout=30)  # passes only when three resets are running at the same time
    failed_once = []

    class SlowStart(World):
        def reset(self, seed=None):
            if seed < 103:  # the first three jobs start together
                together.wait()
            if seed == 104 and not failed_once:
                failed_once.append(seed)
                raise RuntimeError("game did not start")
            return super().reset(seed)

    def make(slot):
        made.append(SlowStart(log))
        return made[-1]

    task = Task()
    failures = WorldScheduler(make, 3).run([Job(f"j{k}", 100 + k) for k in range(5)], task)
    assert failures == [] and task.done == {f"j{k}": [0, 1, 2, 3, 4, 5] for k in range(5)}
    assert failed_once == [104] and len(made) == 4 and all(w.closed for w in made)  # the faulty one replaced
