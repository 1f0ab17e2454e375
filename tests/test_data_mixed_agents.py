import random
import sys
import types

import numpy as np
import pytest

from steve1.data.agents import AGENT_BUTTON_KEYS, RandomAgent, make_agent
from steve1.data.embedding import StreamingEmbedder, fake_embed_fn
from steve1.data.episode import Episode, list_episode_dirs
from steve1.data.gen_mixed_agents import (
    MixedAgentGenerator,
    RunSettingsError,
    skill_start_items,
    spin_actions,
    switch_probs,
)
from steve1.data.states import read_states
from steve1.vpt.actions import env_to_agent


class FakeWorld:
    """Same interface as steve1.envs worlds; pov encodes (seed, step) so frames can be checked."""

    def __init__(self, fail_at=None, interrupt_at=None, restart_at=None, senses=None):
        self.fail_at, self.interrupt_at, self.restart_at = fail_at, interrupt_at, restart_at
        self.senses = senses  # info["senses"] of every reset/step (like Minetest), when given
        self.actions, self.closed, self.t, self.seeds, self.given = [], False, 0, [], []

    def _obs(self):
        pov = np.zeros((360, 640, 3), np.uint8)
        pov[..., 0] = (16 * self.t) % 256
        pov[..., 1] = 100
        return {"pov": pov}

    def _info(self):
        return {} if self.senses is None else {"senses": self.senses(self.t)}

    def reset(self, seed=None):
        self.seed, self.t = seed, 0
        self.seeds.append(seed)
        return self._obs(), self._info()

    def step(self, action):
        if self.fail_at is not None and self.t == self.fail_at:
            self.fail_at = None  # crashes once: a replacement world would not
            raise RuntimeError("world crashed")
        if self.interrupt_at is not None and self.t == self.interrupt_at:
            raise KeyboardInterrupt
        if self.restart_at is not None and self.t == self.restart_at:
            self.restart_at, self.t = None, 0  # the game died; the world restarted it from the same seed
            return self._obs(), 0.0, False, True, {"fault": "game died; restarted"}
        self.actions.append(action)
        self.t += 1
        return self._obs(), 0.0, False, False, self._info()

    def give(self, item, count=1):
        self.given.append((item, count))

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
        self.resets, self.restarts, self.acted = [], [], 0

    def reset_slots(self, slots):
        self.resets.extend(slots)

    def restart_slots(self, slots):
        self.restarts.extend(slots)

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
    # the acting agent restarts after each spin that ended (a spin started near the end may not have)
    spins = sum(len(ep.metadata["spins"]) for ep in eps)
    assert 1 <= len(a1.restarts) + len(a2.restarts) <= spins
    # reproducible for a seed
    gen2 = MixedAgentGenerator(CountingAgent("x"), CountingAgent("y"), lambda i: FakeWorld(), fake_embed_fn,
                               tmp_path / "b", max_timesteps=120, min_timesteps=50, switch_agent_prob=0.05,
                               perform_spin_prob=0.03, seed=3, num_worlds=2, progress=False)
    gen2.run(3)
    md2 = sorted((Episode(p).metadata["seed"], Episode(p).metadata["spins"])
                 for p in list_episode_dirs(tmp_path / "b"))
    assert md2 == sorted((e.metadata["seed"], e.metadata["spins"]) for e in eps)


def test_world_faults_rerun_the_episode_from_its_seed(tmp_path):
    made = []

    def factory(i):  # the first world crashes at step 70, the second restarts its game at step 30
        made.append(FakeWorld(fail_at=70) if not made else FakeWorld(restart_at=30) if len(made) == 1
                    else FakeWorld())
        return made[-1]

    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), factory, fake_embed_fn, tmp_path,
                              max_timesteps=80, min_timesteps=60, seed=5, progress=False)
    stats = gen.run(2)
    eps = sorted((Episode(p, deep=True) for p in list_episode_dirs(tmp_path)),
                 key=lambda e: e.metadata["episode_index"])
    assert len(eps) == 2 and stats.discarded == 0 and not stats.failed
    assert [len(e) for e in eps] == [80, 80] and all(e.name.endswith("termMaxtimesteps") for e in eps)
    # episode 0 crashed its world (closed, replaced) and was rerun from its seed; the second world restarted
    # its game in episode 0's rerun, so episode 0 ran a third time in the same (kept) world
    assert made[0].closed and len(made) == 2 and made[0].seeds == [eps[0].metadata["seed"]]
    assert made[1].seeds == [eps[0].metadata["seed"]] * 2 + [eps[1].metadata["seed"]]
    faults = eps[0].metadata["faults"]
    assert len(faults) == 2 and "world crashed" in faults[0] and "restarted" in faults[1]
    assert eps[1].metadata["faults"] == []
    # nothing of the abandoned attempts is left; each saved episode is whole (frames from the rerun's start)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([e.name for e in eps] + ["generation_run.json"])
    assert np.abs(eps[0].frames(0, 3)[:, 64, 64, 0].astype(int) - 16 * np.arange(3)).max() <= 4
    # an episode ending before min_timesteps is discarded, leaving nothing behind but the run file
    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), lambda i: FakeWorld(interrupt_at=None),
                              fake_embed_fn, tmp_path / "short", max_timesteps=80, min_timesteps=60,
                              progress=False)
    gen.world_factory = lambda i: _EndsAt(10)
    assert gen.run(1).discarded == 1
    assert [p.name for p in (tmp_path / "short").iterdir()] == ["generation_run.json"]


class _EndsAt(FakeWorld):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def step(self, action):
        obs, reward, _, truncated, info = super().step(action)
        return obs, reward, self.t >= self.n, truncated, info


def test_an_episode_that_keeps_faulting_fails_after_its_retries(tmp_path):
    class AlwaysCrashes(FakeWorld):
        def step(self, action):
            raise RuntimeError("world crashed")

    made = []
    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"),
                              lambda i: made.append(AlwaysCrashes()) or made[-1], fake_embed_fn, tmp_path,
                              max_timesteps=20, min_timesteps=10, progress=False, max_retries=2)
    stats = gen.run(1)
    assert [k for k, _ in stats.failed] == ["episode0"] and not stats.saved
    assert len(made) == 3 and all(w.closed for w in made)
    assert [p.name for p in tmp_path.iterdir()] == ["generation_run.json"]


def test_setup_errors_are_raised_not_retried(tmp_path):
    def factory(i):
        raise FileNotFoundError("minetest not found; install it")

    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), factory, fake_embed_fn, tmp_path,
                              max_timesteps=20, min_timesteps=10, progress=False)
    with pytest.raises(FileNotFoundError, match="install"):
        gen.run(2)


def _gen(out, seed=11, **kw):
    kw = {"max_timesteps": 40, "min_timesteps": 20, "switch_agent_prob": 0.05, "perform_spin_prob": 0.03,
          "progress": False, **kw}
    return MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), kw.pop("factory", lambda i: FakeWorld()),
                               fake_embed_fn, out, seed=seed, **kw)


def _seeds(out):
    return sorted((Episode(p).metadata["episode_index"], Episode(p).metadata["seed"], len(Episode(p)))
                  for p in list_episode_dirs(out))


def test_an_interrupted_run_resumes_to_exactly_the_requested_episodes(tmp_path):
    whole = tmp_path / "whole"
    _gen(whole, num_worlds=2).run(5)
    want = _seeds(whole)
    assert [k for k, _, _ in want] == [0, 1, 2, 3, 4] and len({s for _, s, _ in want}) == 5  # distinct seeds
    # a run killed after two episodes (here: Ctrl-C in the third), then rerun, twice
    out = tmp_path / "resumed"

    class CtrlCInThirdEpisode(FakeWorld):
        def reset(self, seed=None):
            self.interrupt_at = 5 if len(self.seeds) == 2 else None
            return super().reset(seed)

    stats = _gen(out, factory=lambda i: CtrlCInThirdEpisode()).run(5)  # episodes 0, 1, then Ctrl-C
    assert stats.interrupted and len(stats.saved) == 2
    stats = _gen(out).run(5)
    assert stats.already_done == 2 and len(stats.saved) == 3
    assert _gen(out).run(5).saved == []  # nothing left to do
    assert _seeds(out) == want  # the same episodes as the uninterrupted run, none twice
    with open(next(iter(list_episode_dirs(out))) / "states.jsonl") as f:
        assert len(f.readlines()) == 40
    # without --seed the run seed is drawn once and recorded; the rerun continues it
    fresh = tmp_path / "fresh"
    g1 = _gen(fresh, seed=None)
    g1.run(1)
    g2 = _gen(fresh, seed=None)
    assert g2.run(2).already_done == 1 and g2.seed == g1.seed
    assert len({s for _, s, _ in _seeds(fresh)}) == 2
    other = _gen(tmp_path / "other", seed=None)
    other.run(1)
    assert other.seed != g1.seed


def test_a_rerun_with_other_settings_is_refused(tmp_path):
    _gen(tmp_path).run(1)
    with pytest.raises(RunSettingsError, match=r"max_timesteps 40 -> 50.*--overwrite"):
        _gen(tmp_path, max_timesteps=50).run(2)
    with pytest.raises(RunSettingsError, match="seed 11 -> 12"):
        _gen(tmp_path, seed=12).run(2)
    assert len(list_episode_dirs(tmp_path)) == 1  # nothing touched
    stats = _gen(tmp_path, max_timesteps=50, overwrite=True).run(2)
    assert len(stats.saved) == 2 and {len(Episode(p)) for p in list_episode_dirs(tmp_path)} == {50}


def test_states_record_world_senses_and_who_acted(tmp_path, monkeypatch):
    gen = _gen(tmp_path, factory=lambda i: FakeWorld(senses=lambda t: {"in_water": t >= 20, "light": t}),
               perform_spin_prob=0.05)
    seen = []
    act = gen.agents[0].act

    def spy(obs_batch, slots):
        seen.extend(o["senses"]["light"] for o in obs_batch)
        return act(obs_batch, slots)

    gen.agents[0].act = spy
    gen.run(1)
    ep = Episode(list_episode_dirs(tmp_path)[0])
    states = read_states(ep.path, len(ep))
    assert len(states) == len(ep) == 40
    assert [s["light"] for s in states] == list(range(40))  # the senses of the frame's observation
    assert [s["in_water"] for s in states] == [t >= 20 for t in range(40)]
    acted = {s["skill"] for s in states}
    assert acted <= {"a", "b", "spin"} and "spin" in acted
    for t in ep.metadata["spins"]:
        assert states[t]["skill"] == "spin"
    assert seen and all(isinstance(x, int) for x in seen)  # agents read obs["senses"]


def test_skill_agents_from_specs_and_their_start_items(tmp_path, monkeypatch):
    """steve1.data.skills's contract, with a fake module: skill:<name>, skills:<a>+<b>, start items."""

    class Walk(RandomAgent):
        def __init__(self, name, seed):
            super().__init__(name=name, seed=seed)

    class Mix(RandomAgent):
        def __init__(self, skills, seed, to_goal=False):
            super().__init__(name="mix", seed=seed)
            self.skills, self.to_goal = skills, to_goal

        def current_skill(self, slot):
            return self.skills[slot % len(self.skills)]

    fake = types.ModuleType("steve1.data.skills")
    fake.SKILLS = {"walk": Walk, "dig": Walk}
    fake.make_skill_agent = lambda name, seed: Walk(name, seed)
    fake.SkillMix = Mix
    fake.SKILL_START_ITEMS = {"dig": {"default:shovel_steel": 1}}
    fake.SENSES_KEY = "senses"
    monkeypatch.setitem(sys.modules, "steve1.data.skills", fake)
    assert make_agent("skill:walk").name == "walk"
    mix = make_agent("skills:walk+dig", seed=3)
    assert isinstance(mix, Mix) and mix.skills == ["walk", "dig"] and not mix.to_goal
    assert make_agent("skills_to_goal:walk+dig").to_goal
    with pytest.raises(ValueError, match="unknown skill"):
        make_agent("skill:fly")
    assert skill_start_items(["skills:walk+dig", "random"]) == {"default:shovel_steel": 1}
    worlds = []
    gen = MixedAgentGenerator(mix, make_agent("skill:walk"),
                              lambda i: worlds.append(FakeWorld()) or worlds[-1],
                              fake_embed_fn, tmp_path, max_timesteps=30, min_timesteps=20,
                              perform_spin_prob=0, start_items=skill_start_items(["skills:walk+dig"]),
                              num_worlds=2, seed=1, progress=False)
    gen.run(2)
    assert all(w.given == [("default:shovel_steel", 1)] * len(w.seeds) for w in worlds)
    for p in list_episode_dirs(tmp_path):
        ep = Episode(p)
        skills = {s["skill"] for s in read_states(p, len(ep))}
        assert skills <= {"walk", "dig"} and skills


def test_missing_skills_module_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "steve1.data.skills", None)
    with pytest.raises(ImportError, match="steve1.data.skills"):
        make_agent("skill:walk")


def test_keyboard_interrupt_saves_long_enough_episode(tmp_path):
    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), lambda i: FakeWorld(interrupt_at=65),
                              fake_embed_fn, tmp_path, max_timesteps=100, min_timesteps=60, progress=False)
    stats = gen.run(3)
    assert len(stats.saved) == 1 and stats.saved[0].name.endswith("termKeyboard")
    assert len(Episode(stats.saved[0], deep=True)) == 65
    assert stats.interrupted
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([stats.saved[0].name, "generation_run.json"])


def test_agent_specs(tmp_path):
    assert make_agent("random:foo").name == "foo"
    with pytest.raises(ValueError, match="unknown agent spec"):
        make_agent("gpt")
    with pytest.raises(FileNotFoundError, match="download_weights"):
        make_agent(f"vpt:{tmp_path}/2x.model:{tmp_path}/x.weights")


def _cli(monkeypatch, out, *extra, world=FakeWorld):
    import steve1.envs
    from steve1.data.gen_mixed_agents import main

    monkeypatch.setattr(steve1.envs, "make_world", lambda name, **kw: world())
    return main(["--output_dir", str(out), "--agent1", "random:a", "--agent2", "random:b",
                 "--mineclip_config", "fake", "--max_timesteps", "30", "--min_timesteps", "20",
                 "--seed", "4", "--device", "cpu", "--progress", "false", *extra])


def test_cli_validates_before_any_world_starts_and_resumes(tmp_path, monkeypatch, capsys):
    def no_world():
        raise AssertionError("a world was started")

    for bad, message in ((["--num_episodes", "0"], "--num-episodes must be >= 1"),
                         (["--num-worlds", "0"], "--num-worlds must be >= 1"),
                         (["--resolution", "big"], "WxH")):
        assert _cli(monkeypatch, tmp_path / "x", *bad, world=no_world) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
    (tmp_path / "file").write_text("")
    assert _cli(monkeypatch, tmp_path / "file" / "out", world=no_world) == 2
    assert "not writable" in capsys.readouterr().err
    out = tmp_path / "out"
    assert _cli(monkeypatch, out, "--num_episodes", "2") == 0
    assert _cli(monkeypatch, out, "--num_episodes", "3") == 0
    assert "saved 1 episodes (30 frames), discarded 0, 2 already there" in capsys.readouterr().out
    assert len(list_episode_dirs(out)) == 3
    assert _cli(monkeypatch, out, "--num_episodes", "3", "--max_timesteps", "40") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "max_timesteps 30 -> 40" in err and "--overwrite" in err
    assert _cli(monkeypatch, out, "--num_episodes", "3", "--max_timesteps", "40", "--overwrite") == 0
    assert {len(Episode(p)) for p in list_episode_dirs(out)} == {40}


def test_cli_ctrl_c_exits_130_after_saving_what_is_complete(tmp_path, monkeypatch):
    assert _cli(monkeypatch, tmp_path, "--num_episodes", "3", world=lambda: FakeWorld(interrupt_at=25)) == 130
    assert [Episode(p).name.endswith("termKeyboard") for p in list_episode_dirs(tmp_path)] == [True]


def test_world_options_reach_make_world_only_when_given():
    from steve1.data.gen_mixed_agents import GenerateSettings

    assert GenerateSettings().world_kwargs() == {}
    assert GenerateSettings(fast=True, resolution="320x180").world_kwargs() == {"fast": True,
                                                                                "resolution": (320, 180)}
    assert GenerateSettings(skills="a+b").agent_specs() == ("skills:a+b", "skills:a+b")
    assert GenerateSettings(skills="a+b", skill_runs="to_goal").agent_specs() == ("skills_to_goal:a+b",
                                                                                 "skills_to_goal:a+b")
    with pytest.raises(ValueError, match="not both"):
        GenerateSettings(skills="a+b", agent1="random")
    assert GenerateSettings(biome="deciduous_forest").world_kwargs() == {"biome": "deciduous_forest"}
    with pytest.raises(ValueError, match="--biome must be one of"):
        GenerateSettings(biome="jungle")
    with pytest.raises(ValueError, match="--biome is a Minetest setting"):
        GenerateSettings(biome="grassland", world="minerl")


def test_a_run_in_one_biome_records_it_and_resumes_only_in_it(tmp_path, monkeypatch, capsys):
    import json

    import steve1.envs

    seen = []
    monkeypatch.setattr(steve1.envs, "make_world", lambda name, **kw: seen.append(kw) or FakeWorld())
    from steve1.data.gen_mixed_agents import RUN_FILE, main

    args = ["--output_dir", str(tmp_path), "--agent1", "random:a", "--agent2", "random:b",
            "--mineclip_config", "fake", "--max_timesteps", "30", "--min_timesteps", "20", "--seed", "4",
            "--device", "cpu", "--progress", "false", "--num_episodes", "1"]
    assert main([*args, "--biome", "grassland"]) == 0
    assert seen == [{"biome": "grassland"}]
    assert json.loads((tmp_path / RUN_FILE).read_text())["biome"] == "grassland"
    (ep,) = list_episode_dirs(tmp_path)
    assert json.loads((ep / "metadata.json").read_text())["biome"] == "grassland"
    assert main([*args, "--num_episodes", "2", "--biome", "taiga"]) == 2
    assert "biome 'grassland' -> 'taiga'" in capsys.readouterr().err


def test_episode_seeds_are_distinct_and_keyed_by_the_run_seed():
    from steve1.data.gen_mixed_agents import MAX_SEED, episode_seed

    seeds = [episode_seed(7, k) for k in range(20000)]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < MAX_SEED for s in seeds)
    assert seeds[:50] == [episode_seed(7, k) for k in range(50)]  # deterministic
    assert len(set(seeds[:50]) & {episode_seed(8, k) for k in range(50)}) < 3


class NoiseWorld(FakeWorld):
    """Frames of noise fixed by the step index (MineCLIP embeddings that differ from step to step)."""

    @staticmethod
    def pov(t):
        return np.random.default_rng(t).integers(0, 256, (72, 128, 3), dtype=np.uint8)

    def _obs(self):
        return {"pov": self.pov(self.t)}


@pytest.mark.parametrize("background", [True, False])
def test_embeddings_made_in_chunks_on_the_worker_equal_those_made_in_line(tmp_path, monkeypatch, background):
    pytest.importorskip("steve1.mineclip.embedder")
    import torch

    from steve1.data import gen_mixed_agents
    from steve1.data.embedding import MINECLIP_FRAME_HW, make_mineclip_embed_fn
    from steve1.utils.frames import resize_linear

    torch.set_num_threads(1)
    monkeypatch.setattr(gen_mixed_agents, "CHUNK_FRAMES", 24)  # 70 steps: chunks of 24, 24 and 22 frames
    embed_fn = make_mineclip_embed_fn(None, "tiny", "cpu", batch_size=4)
    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), lambda i: NoiseWorld(), embed_fn, tmp_path,
                              max_timesteps=70, min_timesteps=20, seed=1, num_worlds=2, progress=False,
                              background_embedding=background)
    stats = gen.run(2)
    assert len(stats.saved) == 2 and stats.frames == 140
    clip_frames = np.stack([resize_linear(NoiseWorld.pov(t), MINECLIP_FRAME_HW) for t in range(70)])
    streamed = StreamingEmbedder(embed_fn)  # the same chunks embedded in line, one after the other
    in_line = [e for i in range(0, 70, 24) for e in streamed.push(clip_frames[i : i + 24])]
    whole = embed_fn(clip_frames)  # one call on the whole episode
    for path in stats.saved:
        embeds = Episode(path).embeds()
        assert len(embeds) == 70 and embeds[:15] == [None] * 15
        np.testing.assert_array_equal(np.concatenate(embeds[15:]), np.concatenate(in_line[15:]))
        # one call differs only by float32 rounding (a matrix product's row count changes its last bits)
        np.testing.assert_allclose(np.concatenate(embeds[15:]), np.concatenate(whole[15:]), rtol=1e-5,
                                   atol=1e-6)


def test_an_embedding_error_on_the_worker_is_raised_by_the_run(tmp_path):
    def broken(frames):
        raise RuntimeError("MineCLIP broke")

    gen = MixedAgentGenerator(RandomAgent("a"), RandomAgent("b"), lambda i: FakeWorld(), broken, tmp_path,
                              max_timesteps=30, min_timesteps=20, seed=1, progress=False)
    with pytest.raises(RuntimeError, match="MineCLIP broke"):
        gen.run(1)
    assert not list_episode_dirs(tmp_path)


def test_bumps_turn_the_camera_and_the_agent_goes_on_without_a_reset(tmp_path):
    resets = []
    gen = _gen(tmp_path, perform_spin_prob=0.0, switch_agent_prob=0.0, bump_prob=0.1)
    for agent in gen.agents:
        reset = agent.reset_slots
        agent.reset_slots = lambda slots, reset=reset: (resets.append(list(slots)), reset(slots))[1]
    gen.run(1)
    ep = Episode(list_episode_dirs(tmp_path)[0])
    states, actions = read_states(ep.path, len(ep)), ep.actions()
    bumps = ep.metadata["bumps"]
    assert bumps and ep.metadata["bump_prob"] == 0.1
    for t in bumps:
        assert states[t]["skill"] == "bump"
        assert not any(int(np.asarray(actions[t][k]).reshape(-1)[0]) for k in AGENT_BUTTON_KEYS)
        turn = np.abs(np.asarray(actions[t]["camera"]))
        assert 4.0 <= turn.min() <= turn.max() <= 10.0
    assert len(resets) == 2  # both agents at the episode start only: a bump resets neither
    assert json_of(tmp_path)["bump_prob"] == 0.1
    # without bumps the run file has no bump_prob (runs made before bumps existed still resume)
    _gen(tmp_path / "plain").run(1)
    assert "bump_prob" not in json_of(tmp_path / "plain")


def json_of(out):
    import json

    return json.loads((out / "generation_run.json").read_text())
