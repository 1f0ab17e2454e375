"""Generation on the real Minetest game: the game process is SIGKILLed mid-episode, the episode is rerun
from its seed, the requested episodes are all saved, and no game or display process is left."""
from __future__ import annotations

import os
import signal

import pytest

from steve1.data.agents import RandomAgent
from steve1.data.embedding import fake_embed_fn
from steve1.data.episode import Episode, list_episode_dirs
from steve1.data.gen_mixed_agents import MixedAgentGenerator
from steve1.data.states import read_states
from steve1.envs import make_world
from steve1.envs.minetest import minetest_available
from tests.helpers_procs import wait_gone

pytestmark = [pytest.mark.minetest, pytest.mark.skipif(minetest_available() is not None,
                                                       reason=str(minetest_available()))]
KILL_AT_STEP = 25  # of the first episode


class KillsTheGame(RandomAgent):
    """A random agent that SIGKILLs the game of world slot 0 when it acts for the KILL_AT_STEP-th time."""

    def __init__(self, worlds, killed):
        super().__init__(name="killer", seed=0)
        self.worlds, self.killed, self.calls = worlds, killed, 0

    def act(self, obs_batch, slots):
        self.calls += 1
        if self.calls == KILL_AT_STEP and not self.killed:
            pid = self.worlds[0].pids["game"]
            self.killed.append(pid)
            os.kill(pid, signal.SIGKILL)
        return super().act(obs_batch, slots)


def test_a_killed_game_reruns_its_episode_and_leaves_no_process(tmp_path):
    worlds, killed, pids = [], [], []

    def factory(slot):
        world = make_world("minetest")
        worlds.append(world)
        return world

    def remember_pids(slot, job, world, obs, info, _start=MixedAgentGenerator.start):
        pids.extend(p for p in world.pids.values() if p)
        return _start(gen, slot, job, world, obs, info)

    agent = KillsTheGame(worlds, killed)
    gen = MixedAgentGenerator(agent, agent, factory, fake_embed_fn, tmp_path, max_timesteps=60,
                              min_timesteps=40, switch_agent_prob=0.0, perform_spin_prob=0.0, seed=3,
                              progress=False)
    gen.start = remember_pids
    stats = gen.run(2)
    assert killed, "the game was never killed"
    eps = sorted((Episode(p, deep=True) for p in list_episode_dirs(tmp_path)),
                 key=lambda e: e.metadata["episode_index"])
    assert [e.metadata["episode_index"] for e in eps] == [0, 1] and not stats.failed
    assert all(len(e) == 60 and e.name.endswith("termMaxtimesteps") for e in eps)
    assert len(eps[0].metadata["faults"]) >= 1 and eps[1].metadata["faults"] == []
    assert len(read_states(eps[0].path, 60)) == 60
    assert wait_gone(sorted(set(pids)), 15), "a game or display process outlived the run"
