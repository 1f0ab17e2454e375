"""A fake world for the agent/run tests: MineRL-shaped, instant, deterministic, with scripted crashes."""
from __future__ import annotations

import numpy as np

from steve1.envs.base import World, make_observation

# Runner options that build tiny random-weight models on the CPU (no weight files read).
TINY_RUN_ARGS = ["--policy", "tiny", "--mineclip", "tiny", "--random-weights", "--device", "cpu"]


class FakeCrash(RuntimeError):
    """What a dying game raises."""


class FakeWorld(World):
    """pov: noise from (seed, step); walking forward moves +x; attacking adds dirt.

    crash_at: {(seed, step): n} raises FakeCrash on that step of an episode with that seed, n times in all
    (shared between the worlds of a test through the dict). recover_at: same, but the step returns
    truncated=True with info["fault"] (a world that restarted itself, like Minetest).
    """

    name = "fake"

    def __init__(self, crash_at=None, recover_at=None, size=(36, 64), log=None):
        self.crash_at = crash_at if crash_at is not None else {}
        self.recover_at = recover_at if recover_at is not None else {}
        self.size = size
        self.log = log if log is not None else []
        self.closed = False
        self.seed = None
        self.t = 0

    def _obs(self):
        rng = np.random.default_rng([self.seed or 0, self.t])
        pov = rng.integers(0, 256, (*self.size, 3), dtype=np.uint8)
        return make_observation(pov, dict(self.inv), (self.x, 64.0, 0.0), 0.0, 0.0, 20.0)

    def reset(self, seed=None, fresh_world=None):
        assert not self.closed
        self.seed, self.t, self.x, self.inv = seed, 0, 0.0, {}
        self.log.append(("reset", seed))
        return self._obs(), {"seed": seed}

    def step(self, action):
        assert not self.closed and self.seed is not None
        self.t += 1
        for table, kind in ((self.crash_at, "crash"), (self.recover_at, "recover")):
            key = (self.seed, self.t)
            if table.get(key, 0) > 0:
                table[key] -= 1
                self.log.append((kind, self.seed, self.t))
                if kind == "crash":
                    raise FakeCrash(f"game died at step {self.t}")
                self.t = 0
                return self._obs(), 0.0, False, True, {"fault": "game restarted"}
        self.x += float(action["forward"])
        if action["attack"]:
            self.inv["dirt"] = self.inv.get("dirt", 0) + 1
        return self._obs(), 0.0, False, False, {"fault": None}

    def close(self):
        self.closed = True
        self.log.append(("close", self.seed))


def use_fake_worlds(monkeypatch) -> list:
    """Make the runners build `FakeWorld`s sharing one event log; returns that log."""
    import steve1.run.common as common

    log: list = []
    monkeypatch.setattr(common, "make_world", lambda name: FakeWorld(log=log))
    return log
