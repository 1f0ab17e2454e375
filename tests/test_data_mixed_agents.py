import random

import numpy as np
import pytest

from steve1.data.agents import AGENT_BUTTON_KEYS, RandomAgent, make_agent
from steve1.data.embedding import fake_embed_fn
from steve1.data.episode import Episode, list_episode_dirs
from steve1.data.gen_mixed_agents import MixedAgentGenerator, spin_actions, switch_probs
from steve1.vpt.actions import env_to_agent


class FakeWorld:
    """Same interface as steve1.envs worlds; pov encodes (seed, step) so frames can be checked."""

    def __init__(self, fail_at=None, interrupt_at=None):
        self.fail_at, self.interrupt_at = fail_at, interrupt_at
        self.actions, self.closed, self.t = [], False, 0

    def _obs(self):
        pov = np.zeros((360, 640, 3), np.uint8)
        pov[..., 0] = (16 * self.t) % 256
        pov[..., 1] = 100
        return {"pov": pov}

    def reset(self, seed=None):
        self.seed, self.t = seed, 0
        return self._obs(), {}

    def step(self, action):
        if self.fail_at is not None and self.t == self.fail_at:
            raise RuntimeError("world crashed")
        if self.interrupt_at is not None and self.t == self.interrupt_at:
            raise KeyboardInterrupt
        self.actions.append(action)
        self.t += 1
        return self._obs(), 0.0, False, False, {}

    def close(self):
        self.closed = True


class SplitWorld(FakeWorld):
    """Steps in two halves like steve1.envs worlds (send to all worlds, then wait for each)."""

    def step_send(self, action):
        self._pending = action

    def step_wait(self):
        return self.step(self._pending)


class CountingAgent(RandomAgent):
    def __init__(self, name):
        super().__init__(name=name, seed=0)
        self.resets, self.acted = [], 0

    def reset_slots(self, slots):
        self.resets.extend(slots)

    def act(self, obs_batch, slots):
        self.acted += len(obs_batch)
        return super().act(obs_batch, slots)


def test_switch_probs_never_crash():
    assert switch_probs("rl_from_foundation_2x", "rl_from_foundation_2x", 0.001) == (0.001, 0.001)
    assert switch_probs("rl_from_house_2x", "bc_house_3x", 0.001) == (1 / 3000, 1 / 1000)
    assert switch_probs("foundation_model_2x", "rl_from_house_2x", 0.01) == (1 / 1000, 1 / 3000)
    assert switch_probs("a", "b", 0.01) == (0.01, 0.01)


def test_spin_actions_shape():
    rng = random.Random(0)
    for _ in range(50):
        spin = spin_actions(rng)
        deg = spin[0]["camera"][0, 1]
        assert 20 <= abs(deg) <= 30 and spin[0]["camera"].shape == (1, 2) and spin[0]["camera"][0, 0] == 0
        assert 90 // abs(deg) <= len(spin) <= 360 // abs(deg)
        assert set(spin[0]) == set(AGENT_BUTTON_KEYS) | {"camera"} and "ESC" not in spin[0]


def test_generation_two_worlds(tmp_path):
    a1, a2 = CountingAgent("rl_from_foundation_2x"), CountingAgent("rl_from_foundation_2x")
    worlds = []

    def factory(i):
        worlds.append(FakeWorld() if i == 0 else SplitWorld())
        return worlds[-1]

    gen = MixedAgentGenerator(a1, a2, factory, fake_embed_fn, tmp_path, max_timesteps=120, min_timesteps=50,
                              switch_agent_prob=0.05, perform_spin_prob=0.03, seed=3, num_worlds=2,
                              progress=False)
    stats = gen.run(3)
    assert len(stats.saved) == 3 and len(worlds) == 2 and all(w.closed for w in worlds)
    assert isinstance(worlds[1], SplitWorld) and len(worlds[1].actions) >= 120
    eps = [Episode(p, deep=True) for p in list_episode_dirs(tmp_path)]
    assert len(eps) == 3
    for ep in eps:
        md = ep.metadata
        assert len(ep) == 120 and ep.name.endswith(f"_mxFrm120_nmFrm120_seed{md['seed']}_termMaxtimesteps")
        assert "_models[rl_from_foundation_2x,rl_from_foundation_2x]" in ep.name
        assert md["switches"][0][0] == 0 and len(md["switches"]) >= 2 and md["spins"]
        for key in ("output_dir", "max_timesteps", "min_timesteps", "switch_agent_prob", "perform_spin_prob",
                    "agent1_name", "agent1_in_model", "agent1_in_weights", "agent2_name",
                    "switch_to_agent1_prob", "switch_to_agent2_prob", "total_minutes"):
            assert key in md
        frames = ep.frames(0, 5)  # pre-action frames: red = 16 * step index
        assert np.abs(frames[:, 64, 64, 0].astype(int) - 16 * np.arange(5)).max() <= 4
        # spin actions are stored where spins started
        t = md["spins"][0]
        assert ep.actions()[t]["camera"].shape == (1, 2) and abs(ep.actions()[t]["camera"][0, 1]) >= 20
        assert ep.embeds()[:15] == [None] * 15 and ep.embeds()[15].shape == (1, 512)
        buttons, camera = env_to_agent(ep.actions())  # the training side reads the stored actions
        assert buttons.shape == camera.shape == (120,)
    # agents did not act during spins: fewer agent calls than steps
    assert a1.acted + a2.acted < 3 * 120
    # reproducible for a seed
    gen2 = MixedAgentGenerator(CountingAgent("x"), CountingAgent("y"), lambda i: FakeWorld(), fake_embed_fn,
                               tmp_path / "b", max_timesteps=120, min_timesteps=50, switch_agent_prob=0.05,
                               perform_spin_prob=0.03, seed=3, num_worlds=2, progress=False)
    gen2.run(3)
    md2 = sorted((Episode(p).metadata["seed"], Episode(p).metadata["spins"])
                 for p in list_episode_dirs(tmp_path / "b"))
    assert md2 == sorted((e.metadata["seed"], e.metadata["spins"]) for e in eps)


def test_world_error_and_short_episodes(tmp_path):
    made = []

    def factory(i):
        made.append(FakeWorld(fail_at=70 if not made else None))
        return made[-1]

    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), factory, fake_embed_fn, tmp_path,
                              max_timesteps=80, min_timesteps=60, env_seed=7, progress=False)
    stats = gen.run(2)
    names = sorted(p.name for p in list_episode_dirs(tmp_path))
    assert len(names) == 2 and stats.discarded == 0
    exc = [n for n in names if n.endswith("termException")][0]
    assert "_nmFrm70_seed7_" in exc and Episode(tmp_path / exc).metadata["error_msg"] == "world crashed"
    assert len(Episode(tmp_path / exc)) == 70 and made[0].closed and len(made) == 2
    # an episode ending before min_timesteps is discarded, leaving nothing behind
    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), lambda i: FakeWorld(fail_at=10),
                              fake_embed_fn, tmp_path / "short", max_timesteps=80, min_timesteps=60,
                              progress=False)
    assert gen.run(1).discarded == 1 and list((tmp_path / "short").iterdir()) == []


def test_keyboard_interrupt_saves_long_enough_episode(tmp_path):
    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), lambda i: FakeWorld(interrupt_at=65),
                              fake_embed_fn, tmp_path, max_timesteps=100, min_timesteps=60, progress=False)
    stats = gen.run(3)
    assert len(stats.saved) == 1 and stats.saved[0].name.endswith("termKeyboard")
    assert len(Episode(stats.saved[0], deep=True)) == 65
    assert [p.name for p in tmp_path.iterdir()] == [stats.saved[0].name]


def test_agent_specs(tmp_path):
    assert make_agent("random:foo").name == "foo"
    with pytest.raises(ValueError, match="unknown agent spec"):
        make_agent("gpt")
    with pytest.raises(FileNotFoundError, match="download_weights"):
        make_agent(f"vpt:{tmp_path}/2x.model:{tmp_path}/x.weights")
