"""Mixed-agent generation on the real Minetest game with its worlds as Ray actors (a local Ray of 2 CPUs):
the same episodes as the local path for the same seeds; a world actor killed mid-episode -> the episode is
rerun from its seed, nothing lost or duplicated, no game process left."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from steve1.cluster.runtime import LOCAL
from steve1.data.episode import Episode, list_episode_dirs
from steve1.data.gen_mixed_agents import GenerateSettings, run
from steve1.data.states import read_states
from steve1.envs.minetest import minetest_available
from tests.helpers_procs import wait_gone

pytestmark = [pytest.mark.minetest, pytest.mark.skipif(minetest_available() is not None,
                                                       reason=str(minetest_available()))]
STEPS = 30
VOLATILE = ("total_minutes", "output_dir")  # metadata that differs between any two runs


def _settings(out, **kw) -> GenerateSettings:
    return GenerateSettings(output_dir=str(out), num_episodes=2, agent1="random:a", agent2="random:b",
                            max_timesteps=STEPS, min_timesteps=STEPS, seed=11, switch_agent_prob=0.1,
                            perform_spin_prob=0.05, mineclip_config="fake", device="cpu", fast=True,
                            progress=False, **kw)


def _episodes(out) -> dict[int, Episode]:
    eps = [Episode(p) for p in list_episode_dirs(out)]
    return {e.metadata["episode_index"]: e for e in eps}


def _same_actions(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
                                    for x, y in zip(a, b, strict=True))


def test_generation_with_world_actors_gives_the_local_episodes(local_ray, tmp_path):
    assert run(_settings(tmp_path / "local")) == 0
    assert run(_settings(tmp_path / "ray", ray=LOCAL)) == 0
    local, on_ray = _episodes(tmp_path / "local"), _episodes(tmp_path / "ray")
    assert sorted(local) == sorted(on_ray) == [0, 1]
    for k in local:
        a, b = local[k], on_ray[k]
        assert a.name.split("_", 1)[1] == b.name.split("_", 1)[1]  # all but the uuid: seed, frames, end
        assert len(a) == len(b) == STEPS
        assert _same_actions(a.actions(), b.actions())
        strip = lambda m: {key: v for key, v in m.items() if key not in VOLATILE}  # noqa: E731
        assert strip(a.metadata) == strip(b.metadata)  # seeds, switches, spins, faults (none)
        assert [s["skill"] for s in read_states(a.path, STEPS)] == [s["skill"] for s in read_states(b.path,
                                                                                                    STEPS)]
        assert b.frames().shape == (STEPS, 128, 128, 3)


def test_a_killed_world_actor_reruns_its_episode(local_ray, tmp_path):
    from steve1.cluster.worlds import remote_world_factory
    from steve1.data.agents import RandomAgent
    from steve1.data.embedding import fake_embed_fn
    from steve1.data.gen_mixed_agents import MixedAgentGenerator

    worlds, pids = [], []
    make_remote = remote_world_factory("minetest", {"fast": True})

    def make(slot):
        worlds.append(make_remote(slot))
        pids.append(local_ray.get(worlds[-1].actor.pids.remote()))
        return worlds[-1]

    class KillsTheWorldActor(RandomAgent):
        calls = 0

        def act(self, obs_batch, slots):
            self.calls += 1
            if self.calls == STEPS // 2 and len(worlds) == 1:  # first episode, half-way: kill its actor
                os.kill(pids[0]["actor"], signal.SIGKILL)
            return super().act(obs_batch, slots)

    agent = KillsTheWorldActor(seed=0)
    gen = MixedAgentGenerator(agent, agent, make, fake_embed_fn, tmp_path, max_timesteps=STEPS,
                              min_timesteps=STEPS, switch_agent_prob=0.0, perform_spin_prob=0.0, seed=3,
                              progress=False)
    stats = gen.run(2)
    eps = _episodes(tmp_path)
    assert len(worlds) >= 2, "the killed world was not replaced"
    assert sorted(eps) == [0, 1] and not stats.failed and len(stats.saved) == 2
    assert len(eps[0].metadata["faults"]) >= 1 and eps[1].metadata["faults"] == []
    assert all(len(e) == STEPS for e in eps.values())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".partial")] == []
    game_pids = [p for d in pids for k, p in d.items() if p and k != "actor"]
    assert wait_gone(game_pids, 30), "a game or display process outlived its actor"

