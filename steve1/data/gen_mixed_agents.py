"""Mixed-agent episode generation (`train/1_generate_dataset.sh`, second half).

Two agents take turns in a world: each step the active one hands over with a small probability (the new one
is reset), and now and then a random spin (90-360 degrees of yaw at 20-30 degrees per step) interrupts them.
Optionally (`bump_prob`, off by default and in the original) a bump interrupts them too: a few steps of a
random camera turn, after which the same agent goes on without a reset, so scripted skills record how they
get back on task (look up again, aim again) - the recoveries a goal-conditioned policy has to learn.
Frames (128x128), actions and per-step MineCLIP embeddings are stored as episodes named like the original's
(`<uuid>_models[<w1>,<w2>]_mxFrm<max>_nmFrm<N>_seed<seed>_term<Reason>`) with the original's metadata, plus
`states.jsonl` (steve1.data.states: per-frame world state and which agent or skill acted).

Per step and world, in the original's order: switch test, spin test, MineCLIP frame of the current
observation, action (active agent, or the next spin action; the agent restarts when a spin ends), world
step, store the pre-action frame and the action. Episodes end at `max_timesteps`, on Ctrl-C
(`termKeyboard`) or when the world ends them (`termDone`); shorter than `min_timesteps` are discarded.

The worlds are driven by steve1.envs.scheduler: N worlds step together, the agents act once per step for
all of them. A world fault (the world raised, or its game died and it restarted itself) abandons that
episode, which is run again from its seed (its metadata `faults` lists what happened), up to `max_retries`.

A run resumes: episode k of a run has world seed and random stream derived from the run's seed and k, the
settings that shape the outputs are kept in `generation_run.json` in the output directory, and a rerun with
the same settings makes only the episodes not yet saved (a rerun with other settings is refused).

Differences from the original:
- any two agents (see `steve1.data.agents`, scripted skills included), any world (`steve1.envs.make_world`);
- switch probabilities: exactly one agent named `rl_from*` -> 1/3000 to it, 1/1000 away (as the original);
  otherwise `switch_agent_prob` both ways. The original raised ValueError when both were RL, which made its
  only shipped pair (rl_from_foundation_2x twice) crash before the first episode;
- a world that reports terminated/truncated ends the episode as `termDone` (MineRL HumanSurvival never does);
  a world error retries the episode instead of saving it cut short as `termException`;
- embeddings are computed while the episode runs, in chunks (bounded memory) on a background thread while
  the worlds go on stepping (the same chunks, so the same numbers, as computed in line), and episodes are
  written atomically; Ctrl-C saves the running episodes that are long enough and then stops the run;
- each episode's randomness comes from the run seed and its index, so a run is reproducible (and resumable)
  given the same world, whatever the number of worlds.
"""
from __future__ import annotations

import json
import logging
import random
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from steve1.cli_config import EXIT_INTERRUPTED, UsageError, check, report, run_verb, settings_field
from steve1.cluster.runtime import LOCAL, use_ray
from steve1.data.agents import AGENT_BUTTON_KEYS, Agent, acting_name, make_agent, skill_names, skills_module
from steve1.data.embedding import (
    CHUNK_FRAMES,
    MINECLIP_FRAME_HW,
    EmbeddingWorker,
    EmbedFn,
    StreamingEmbedder,
    default_device,
)
from steve1.data.episode import FRAME_SIZE, EpisodeWriter, list_episode_dirs, remove_stale_partials
from steve1.data.episode_names import mixed_agents_episode_name
from steve1.data.states import BUMP_NAME, SENSES_KEY, SPIN_NAME, STATES_FILE, state_of, states_text
from steve1.envs import WORLD_NAMES
from steve1.envs.scheduler import WorldScheduler
from steve1.spaces import CAMERA_KEY
from steve1.utils.atomic import atomic_write_text
from steve1.utils.frames import resize_linear
from steve1.utils.threads import WORLD_TORCH_THREADS, set_torch_threads

log = logging.getLogger("steve1.data.gen_mixed_agents")

SWITCH_TO_RL_PROB = 1 / 3000
SWITCH_TO_NON_RL_PROB = 1 / 1000
SPIN_TOTAL_DEGREES = (90, 360)  # randint bounds, inclusive
SPIN_DEGREES_PER_STEP = (20, 30)
MAX_SEED = 2**25  # world seeds are in [0, MAX_SEED)
SEED_BITS = 25
RUN_FILE = "generation_run.json"  # in the output directory: the settings that shape the run's outputs
BUMP_STEPS = (3, 8)  # randint bounds, inclusive: steps of one bump
BUMP_DEGREES_PER_STEP = (4.0, 10.0)  # pitch and yaw per step of a bump: each uniform in these, random sign

WorldFactory = Callable[[int], object]  # slot -> world with reset(seed=)/step(action)/close()


def is_rl_agent(name: str) -> bool:
    return "rl_from" in name


def switch_probs(agent1_name: str, agent2_name: str, switch_agent_prob: float) -> tuple[float, float]:
    """(probability of switching to agent 1, to agent 2) per step."""
    rl1, rl2 = is_rl_agent(agent1_name), is_rl_agent(agent2_name)
    if rl1 != rl2:
        to_rl, to_other = SWITCH_TO_RL_PROB, SWITCH_TO_NON_RL_PROB
        return (to_rl, to_other) if rl1 else (to_other, to_rl)
    return switch_agent_prob, switch_agent_prob


def spin_actions(rng: random.Random) -> list[dict]:
    """A spin: yaw-only no-op actions in the agent's env format (values (1,), camera (1, 2))."""
    total = rng.randint(*SPIN_TOTAL_DEGREES)
    per_step = rng.randint(*SPIN_DEGREES_PER_STEP)
    n = total // per_step
    if rng.random() < 0.5:
        per_step = -per_step
    action = {k: np.array([0]) for k in AGENT_BUTTON_KEYS}
    action[CAMERA_KEY] = np.array([[0, per_step]])
    return [action] * n


def bump_actions(rng: random.Random) -> list[dict]:
    """A bump: BUMP_STEPS no-op actions turning the camera by one random (pitch, yaw) per step (a turn of
    12-80 degrees on each axis; the world clamps the pitch)."""
    n = rng.randint(*BUMP_STEPS)
    turn = [round(rng.choice((-1, 1)) * rng.uniform(*BUMP_DEGREES_PER_STEP), 1) for _ in range(2)]
    action = {k: np.array([0]) for k in AGENT_BUTTON_KEYS}
    action[CAMERA_KEY] = np.array([turn])
    return [action] * n


# ------------------------------------------------------------------------------------- seeds of a run
def episode_seed(run_seed: int, index: int) -> int:
    """World seed of episode `index`: a bijection of the index onto [0, MAX_SEED), so the seeds of a run's
    episodes are all distinct; keyed by the run seed (an odd multiplier, an offset, a xorshift)."""
    key = random.Random(f"world-seeds:{run_seed}")
    mult, offset = key.getrandbits(SEED_BITS) | 1, key.getrandbits(SEED_BITS)
    x = (index * mult + offset) % MAX_SEED
    return x ^ (x >> 13)


def episode_rng(run_seed: int, index: int) -> random.Random:
    """The switch/spin random stream of episode `index` (the same on a retry or a resumed run)."""
    return random.Random(f"episode:{run_seed}:{index}")


def new_run_seed() -> int:
    return secrets.randbits(32)


def recorded_seed(output_dir: str | Path) -> int | None:
    """The seed recorded by an earlier run into `output_dir` (None when there is none)."""
    path = Path(output_dir) / RUN_FILE
    try:
        return json.loads(path.read_text()).get("seed")
    except (FileNotFoundError, json.JSONDecodeError, AttributeError):
        return None


class RunSettingsError(UsageError):
    """The output directory holds episodes made with other settings."""


# ------------------------------------------------------------------------------------- one episode
@dataclass
class GenerationJob:
    """Episode `index` of the run (the scheduler's job: key, seed, attempts, faults)."""

    key: str
    index: int
    seed: int
    attempts: int = 0
    faults: list[str] = field(default_factory=list)


@dataclass
class _Episode:
    """The episode running in one world slot."""

    job: GenerationJob
    writer: EpisodeWriter
    embedder: StreamingEmbedder
    obs: dict
    rng: random.Random
    agent2_active: bool
    metadata: dict
    switches: list = field(default_factory=list)
    spins: list = field(default_factory=list)
    bumps: list = field(default_factory=list)
    interrupt: list | None = None  # the actions left of a running spin or bump
    interrupt_name: str = ""  # SPIN_NAME or BUMP_NAME
    t: int = 0
    t0: float = field(default_factory=time.time)
    clip_buf: list = field(default_factory=list)
    policy_buf: list = field(default_factory=list)
    states: list = field(default_factory=list)  # one JSON-ready dict per stored frame
    pending: tuple | None = None  # (MineCLIP frame, policy frame) of the step in progress
    chunks: list = field(default_factory=list)  # Futures of the chunks handed to the embedding worker
    acting: str = ""  # who chose the action of the step in progress

    def commit(self, action: dict) -> None:
        """Store the step in progress (only once the world accepted its action)."""
        clip, policy = self.pending
        self.clip_buf.append(clip)
        self.policy_buf.append(policy)
        self.writer.actions.append(action)
        self.states.append(state_of(self.obs, self.obs.get(SENSES_KEY), self.acting))
        self.pending = None
        self.t += 1

    def flush(self, worker: EmbeddingWorker) -> None:
        """Hand the buffered frames to the worker (video frames and MineCLIP embeddings, in order)."""
        if self.policy_buf:
            self.chunks.append(worker.submit(_write_chunk, self.writer, self.embedder,
                                             np.stack(self.policy_buf), np.stack(self.clip_buf)))
            self.policy_buf.clear()
            self.clip_buf.clear()


def _write_chunk(writer: EpisodeWriter, embedder: StreamingEmbedder, policy_frames: np.ndarray,
                 clip_frames: np.ndarray) -> None:
    """One chunk of an episode (on the embedding worker's thread)."""
    writer.add_frames(policy_frames)  # (n, 128, 128, 3)
    writer.add_embeds(embedder.push(clip_frames))  # (n, 160, 256, 3) in


@dataclass
class GenerationStats:
    saved: list[Path] = field(default_factory=list)
    discarded: int = 0
    frames: int = 0
    already_done: int = 0  # episodes found finished in the output directory (resumed run)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, last fault) after max_retries
    interrupted: bool = False


class MixedAgentGenerator:
    def __init__(
        self, agent1: Agent, agent2: Agent, world_factory: WorldFactory, embed_fn: EmbedFn,
        output_dir: str | Path,
        max_timesteps: int = 7200, min_timesteps: int = 1000, switch_agent_prob: float = 0.001,
        perform_spin_prob: float = 0.00133, env_seed: int | None = None, seed: int | None = None,
        num_worlds: int = 1, world_kind: str = "", progress: bool = True, max_retries: int = 2,
        start_items: dict[str, int] | None = None, run_settings: dict | None = None, overwrite: bool = False,
        background_embedding: bool = True, bump_prob: float = 0.0,
    ):
        if not all(0 <= p <= 1 for p in (switch_agent_prob, perform_spin_prob, bump_prob)):
            raise ValueError("switch_agent_prob, perform_spin_prob and bump_prob must be probabilities in "
                             "[0, 1]")
        if not 1 <= min_timesteps <= max_timesteps:
            raise ValueError(f"need 1 <= min_timesteps ({min_timesteps}) <= max_timesteps ({max_timesteps})")
        if num_worlds < 1:
            raise ValueError(f"num_worlds must be >= 1, got {num_worlds}")
        self.agents = (agent1, agent2)
        self.world_factory, self.embed_fn = world_factory, embed_fn
        self.output_dir = Path(output_dir)
        self.max_timesteps, self.min_timesteps = max_timesteps, min_timesteps
        self.switch_agent_prob, self.perform_spin_prob = switch_agent_prob, perform_spin_prob
        self.bump_prob = bump_prob
        self.p_to1, self.p_to2 = switch_probs(agent1.name, agent2.name, switch_agent_prob)
        self.env_seed = env_seed
        self.seed = seed  # None: the recorded one when resuming, else fresh from the OS
        self.num_worlds, self.world_kind, self.progress = num_worlds, world_kind, progress
        self.max_retries = max_retries
        self.start_items = dict(start_items or {})
        self.run_settings = dict(run_settings or {})
        self.overwrite = overwrite
        self.background_embedding = background_embedding
        self.stats = GenerationStats()
        self._bar = None
        self._worker = EmbeddingWorker(background=False)  # run() makes the one it uses

    # -- the run's settings ------------------------------------------------------------------------------
    def settings(self) -> dict:
        """What shapes this run's outputs (kept in RUN_FILE; a resumed run must match it)."""
        a1, a2 = self.agents
        out = {
            "agent1": [a1.name, a1.in_model, a1.in_weights], "agent2": [a2.name, a2.in_model, a2.in_weights],
            "max_timesteps": self.max_timesteps, "min_timesteps": self.min_timesteps,
            "switch_agent_prob": self.switch_agent_prob, "perform_spin_prob": self.perform_spin_prob,
            "env_seed": self.env_seed, "seed": self.seed, "world": self.world_kind,
            "start_items": self.start_items, **self.run_settings,
        }
        if self.bump_prob:  # recorded only when used, so that runs made before bumps existed still resume
            out["bump_prob"] = self.bump_prob
        return json.loads(json.dumps(out))  # tuples -> lists, as read back

    def _prepare_output_dir(self) -> list[int]:
        """Check (or write) RUN_FILE; the indices of the episodes already saved by this run."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / RUN_FILE
        if self.overwrite:
            for ep in list_episode_dirs(self.output_dir):
                shutil.rmtree(ep)
            path.unlink(missing_ok=True)
        removed = remove_stale_partials(self.output_dir)
        if removed:
            log.warning("removed %d partial episode(s) left by an interrupted run", removed)
        existing = list_episode_dirs(self.output_dir)
        if path.is_file() and existing:  # (a run file without episodes protects nothing: rewritten)
            recorded = json.loads(path.read_text())
            if self.seed is None:
                self.seed = recorded.get("seed")
            wanted = self.settings()
            differ = [f"{k} {recorded.get(k)!r} -> {wanted.get(k)!r}"
                      for k in sorted(set(recorded) | set(wanted)) if recorded.get(k) != wanted.get(k)]
            if differ:
                raise RunSettingsError(
                    f"{self.output_dir} holds episodes made with other settings ({'; '.join(differ)}); rerun "
                    f"with --overwrite to replace them, or choose another --output_dir")
        elif existing:
            raise RunSettingsError(
                f"{self.output_dir} holds {len(existing)} episode(s) not made by a resumable run (no "
                f"{RUN_FILE}); rerun with --overwrite to replace them, or choose another --output_dir")
        else:
            if self.seed is None:
                self.seed = new_run_seed()
            atomic_write_text(path, json.dumps(self.settings(), indent=2))
        done = []
        for ep in existing:
            try:
                done.append(int(json.loads((ep / "metadata.json").read_text())["episode_index"]))
            except (OSError, ValueError, KeyError, TypeError):
                raise RunSettingsError(f"{ep} has no readable episode_index in its metadata; rerun with "
                                       f"--overwrite or choose another --output_dir") from None
        return done

    # -- the scheduler's task ----------------------------------------------------------------------------
    def _base_metadata(self) -> dict:
        a1, a2 = self.agents
        return {
            "output_dir": str(self.output_dir), "max_timesteps": self.max_timesteps,
            "min_timesteps": self.min_timesteps, "switch_agent_prob": self.switch_agent_prob,
            "perform_spin_prob": self.perform_spin_prob, "bump_prob": self.bump_prob,
            "agent1_name": a1.name, "agent1_in_model": a1.in_model, "agent1_in_weights": a1.in_weights,
            "agent2_name": a2.name, "agent2_in_model": a2.in_model, "agent2_in_weights": a2.in_weights,
            "world": self.world_kind, "run_seed": self.seed,
            **({"biome": self.run_settings["biome"]} if "biome" in self.run_settings else {}),
        }

    def start(self, slot: int, job: GenerationJob, world, obs: dict, info: dict) -> _Episode:
        give = getattr(world, "give", None)
        if give is not None:
            for item, count in self.start_items.items():
                give(item, count)
        obs[SENSES_KEY] = info.get("senses") or {}
        rng = episode_rng(self.seed, job.index)
        agent2_active = rng.choice([False, True])
        for agent in self.agents:
            agent.reset_slots([slot])
        meta = self._base_metadata()
        meta.update(seed=job.seed, episode_index=job.index, switch_to_agent1_prob=self.p_to1,
                    switch_to_agent2_prob=self.p_to2,
                    faults=list(job.faults) + [str(f) for f in info.get("faults") or []])
        ep = _Episode(job, EpisodeWriter(self.output_dir), StreamingEmbedder(self.embed_fn), obs, rng,
                      agent2_active, meta)
        ep.switches.append([0, agent2_active])
        return ep

    def _pre_action(self, slot: int, ep: _Episode) -> None:
        """Switch test, spin test, bump test, frames of the current observation."""
        rng = ep.rng
        if ep.agent2_active and rng.random() < self.p_to1:
            ep.agent2_active = False
            self.agents[0].reset_slots([slot])
            ep.switches.append([ep.t, False])
        elif not ep.agent2_active and rng.random() < self.p_to2:
            ep.agent2_active = True
            self.agents[1].reset_slots([slot])
            ep.switches.append([ep.t, True])
        if ep.interrupt is None and rng.random() < self.perform_spin_prob:
            ep.interrupt, ep.interrupt_name = spin_actions(rng) or None, SPIN_NAME
            ep.spins.append(ep.t)
        # (drawn only when bumps are on: a run without them keeps the original's random stream)
        if self.bump_prob and ep.interrupt is None and rng.random() < self.bump_prob:
            ep.interrupt, ep.interrupt_name = bump_actions(rng), BUMP_NAME
            ep.bumps.append(ep.t)
        pov = ep.obs["pov"]
        if not isinstance(pov, np.ndarray) or pov.ndim != 3 or pov.shape[2] != 3 or pov.dtype != np.uint8:
            pov = np.asarray(pov)
            raise ValueError(f"world observation 'pov' must be (H, W, 3) uint8, got {pov.shape} {pov.dtype}")
        ep.pending = (resize_linear(pov, MINECLIP_FRAME_HW), resize_linear(pov, (FRAME_SIZE, FRAME_SIZE)))

    def act(self, slots: list[int], states: list[_Episode]) -> list[dict]:
        for i, ep in zip(slots, states, strict=True):
            self._pre_action(i, ep)
        actions: list[dict | None] = [None] * len(slots)
        for which, agent in enumerate(self.agents):
            rows = [r for r, ep in enumerate(states)
                    if ep.interrupt is None and ep.agent2_active == bool(which)]
            if rows:
                ids = [slots[r] for r in rows]
                for r, i, a in zip(rows, ids, agent.act([states[r].obs for r in rows], ids), strict=True):
                    actions[r] = a
                    states[r].acting = acting_name(agent, i)
        for r, ep in enumerate(states):
            if ep.interrupt is not None:
                actions[r] = ep.interrupt.pop(0)
                ep.acting = ep.interrupt_name
                if not ep.interrupt:
                    ep.interrupt = None
                    if ep.interrupt_name == SPIN_NAME:  # the agent starts afresh after a spin, not a bump
                        self.agents[int(ep.agent2_active)].restart_slots([slots[r]])
        return actions

    def step(self, slot: int, ep: _Episode, action: dict, obs: dict, reward: float, terminated: bool,
             truncated: bool, info: dict) -> bool:
        ep.commit(action)
        obs[SENSES_KEY] = info.get("senses") or {}
        ep.obs = obs
        if len(ep.policy_buf) >= CHUNK_FRAMES:
            ep.flush(self._worker)
        if self._bar is not None:
            self._bar.update(1)
        if ep.t >= self.max_timesteps:
            self._end(ep, "maxTimesteps")
        elif terminated or truncated:
            self._end(ep, "done")
        else:
            return False
        return True

    def abandon(self, slot: int, ep: _Episode, message: str) -> None:
        self._worker.submit(ep.writer.abort)  # (after the chunks already handed over)

    def stop(self, slot: int, ep: _Episode, error: BaseException) -> None:
        if isinstance(error, KeyboardInterrupt):
            self._end(ep, "keyboard", error)
            return
        try:
            self._worker.submit(ep.writer.abort)
        except Exception as worker_error:  # noqa: BLE001 - the run is failing with `error` already
            log.error("embedding worker: %s", worker_error)
            ep.writer.abort()

    def _failed(self, job: GenerationJob, message: str) -> None:
        self.stats.failed.append((job.key, message))

    def _end(self, ep: _Episode, reason: str, error: BaseException | None = None) -> None:
        if error is not None:
            ep.metadata["error_msg"] = str(error)
        if ep.t < self.min_timesteps:
            self._worker.submit(ep.writer.abort)
            self.stats.discarded += 1
            log.warning("episode %d discarded: %d < min_timesteps %d (%s)", ep.job.index, ep.t,
                        self.min_timesteps, reason)
            return
        ep.flush(self._worker)
        ep.metadata.update(total_minutes=round((time.time() - ep.t0) / 60, 4), switches=ep.switches,
                           spins=ep.spins, bumps=ep.bumps)
        a1, a2 = self.agents
        name = mixed_agents_episode_name(a1.in_weights or a1.name, a2.in_weights or a2.name,
                                         self.max_timesteps, ep.t, ep.job.seed, reason)
        self._worker.submit(self._save, ep, name)  # once its last chunk is embedded

    def _save(self, ep: _Episode, name: str) -> None:
        """Write a finished episode (on the embedding worker's thread, after its chunks)."""
        try:
            for chunk in ep.chunks:
                chunk.result()  # done by now (one thread, in order); raises a chunk's error
        except BaseException:
            ep.writer.abort()
            raise
        self.stats.saved.append(ep.writer.finish(name, ep.metadata, {STATES_FILE: states_text(ep.states)}))
        self.stats.frames += ep.t

    # -- the run -----------------------------------------------------------------------------------------
    def jobs(self, num_episodes: int, done: list[int]) -> list[GenerationJob]:
        skip = set(done)
        return [GenerationJob(f"episode{k}", k, self.env_seed if self.env_seed is not None
                              else episode_seed(self.seed, k)) for k in range(num_episodes) if k not in skip]

    def run(self, num_episodes: int) -> GenerationStats:
        """Make episodes 0..num_episodes-1 of this run that the output directory does not hold yet."""
        if num_episodes < 1:
            raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
        done = self._prepare_output_dir()
        jobs = self.jobs(num_episodes, done)
        self.stats.already_done = len(set(done))
        if self.stats.already_done:
            log.info("resuming: %d episode(s) already in %s, %d to make", self.stats.already_done,
                     self.output_dir, len(jobs))
        if not jobs:
            return self.stats
        n_worlds = min(self.num_worlds, len(jobs))
        for agent in self.agents:
            agent.reset(n_worlds)
        scheduler = WorldScheduler(self.world_factory, n_worlds, self.max_retries, on_failed=self._failed)
        if self.progress:
            from tqdm import tqdm
            self._bar = tqdm(total=len(jobs) * self.max_timesteps, unit="step", desc="mixed agents")
        # a few chunks per world may wait (bounded memory: a chunk is CHUNK_FRAMES MineCLIP frames)
        self._worker = EmbeddingWorker(self.background_embedding, max_pending=3 * n_worlds)
        try:
            scheduler.run(jobs, self)
        except KeyboardInterrupt:  # the running episodes were saved (when long enough) by stop()
            self.stats.interrupted = True
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            self._worker.close()  # every episode handed over is written (or its error raised) here
        return self.stats


# ------------------------------------------------------------------------------------- the verb
DEFAULT_VPT = "vpt:data/weights/vpt/2x.model:data/weights/vpt/rl-from-foundation-2x.weights"
OUTPUT_SHAPING = ("mineclip_config", "mineclip_weights", "fast", "resolution")  # recorded in RUN_FILE too


@dataclass
class GenerateSettings:
    """Generate episodes with two switching agents (mixed-agent data, resumable)."""

    output_dir: str = "data/dataset_mixed_agents/"
    """directory of the episodes (a rerun with the same settings resumes: it makes only the missing ones)"""
    num_episodes: int = 5
    """episodes the directory should hold when the run ends"""
    world: str = settings_field(default="minetest", choices=WORLD_NAMES)
    """the world the agents play in"""
    num_worlds: int = 1
    """worlds run at once (the agents act for all of them in one batch)"""
    agent1: str | None = None
    """'random[:name]', 'vpt:<model>:<weights>', 'skill:<name>' or 'skills:<a>+<b>' (default: the RL VPT)"""
    agent2: str | None = None
    """the second agent, same forms as --agent1 (default: the RL VPT)"""
    skills: str | None = None
    """a skill mix '<a>+<b>+...' for both agents (shorthand for --agent1/--agent2 skills:<a>+<b>)"""
    skill_runs: str = settings_field(default="random", choices=("random", "to_goal"))
    """how long each skill of --skills acts: 'random' (it may hand over after 100 steps), 'to_goal' (only once
    it has also reached its goal, a log, seeds, ..., or run for its time limit)"""
    max_timesteps: int = 7200
    """steps per episode"""
    min_timesteps: int = 1000
    """episodes ending sooner are discarded"""
    env_seed: int | None = None
    """world seed of every episode (default: a distinct one per episode, from --seed)"""
    seed: int | None = None
    """seed of the run: world seeds, switches, spins, agents (default: recorded, else from the OS)"""
    switch_agent_prob: float = 0.001
    """per-step probability of handing over to the other agent (when neither or both are RL)"""
    perform_spin_prob: float = 0.00133
    """per-step probability of a random spin"""
    bump_prob: float = 0.0
    """per-step probability of a bump: a few steps of random camera turn, then the same agent goes on"""
    batch_size: int = 4
    """MineCLIP windows per forward pass"""
    mineclip_weights: str = "data/weights/mineclip/attn.pth"
    """MineCLIP weights file"""
    mineclip_config: str = settings_field(default="attn", alias=["--mineclip"])
    """MineCLIP: the released 'attn', the shipped 'minetest', a random 'tiny' one, 'fake' (tests), or a
    checkpoint of ours (a path written by train-mineclip)"""
    mineclip_dtype: str = settings_field(default="auto", choices=("auto", "float32", "float16", "bfloat16"))
    """MineCLIP compute dtype"""
    device: str = settings_field(default_factory=default_device)
    """torch device of the agents and MineCLIP"""
    threads: int = WORLD_TORCH_THREADS
    """torch CPU threads (the worlds' games use the other cores; 0: torch's default)"""
    fast: bool = False
    """the world's fast settings (passed to it as fast=True)"""
    resolution: str | None = None
    """the world's render size WxH, e.g. 640x360 (passed to it as resolution=(W, H))"""
    biome: str | None = None
    """Minetest only: every world of the run is this biome everywhere, e.g. deciduous_forest (trees, grass
    and dirt at every spawn); default: the seed's own mix of biomes"""
    max_retries: int = 2
    """times an episode is rerun after a world fault before it is given up"""
    overwrite: bool = False
    """delete the episodes already in --output-dir and start the run again"""
    progress: bool = True
    """show a progress bar"""
    ray: str | None = settings_field(default=None, nargs="?", const=LOCAL)
    """worlds as Ray actors: --ray (a local Ray) or --ray ADDRESS (a cluster); default: STEVE1_RAY"""

    def __post_init__(self):
        check(self.num_episodes >= 1, f"--num-episodes must be >= 1, got {self.num_episodes}")
        check(self.num_worlds >= 1, f"--num-worlds must be >= 1, got {self.num_worlds}")
        check(1 <= self.min_timesteps <= self.max_timesteps,
              f"need 1 <= --min-timesteps ({self.min_timesteps}) <= --max-timesteps ({self.max_timesteps})")
        check(all(0 <= p <= 1 for p in (self.switch_agent_prob, self.perform_spin_prob, self.bump_prob)),
              "--switch-agent-prob, --perform-spin-prob and --bump-prob must be probabilities in [0, 1]")
        check(self.max_retries >= 0, f"--max-retries must be >= 0, got {self.max_retries}")
        check(self.threads >= 0, f"--threads must be >= 0, got {self.threads}")
        check(not (self.skills and (self.agent1 or self.agent2)),
              "give either --skills or --agent1/--agent2, not both")
        if self.resolution is not None:
            parse_resolution(self.resolution)
        if self.biome is not None:
            from steve1.envs.minetest.world import BIOME_CLIMATES

            check(self.world == "minetest", f"--biome is a Minetest setting; --world {self.world} has none")
            check(self.biome in BIOME_CLIMATES, f"--biome must be one of {', '.join(BIOME_CLIMATES)}, "
                  f"got {self.biome!r}")

    def agent_specs(self) -> tuple[str, str]:
        if self.skills:
            kind = "skills_to_goal" if self.skill_runs == "to_goal" else "skills"
            return f"{kind}:{self.skills}", f"{kind}:{self.skills}"
        return self.agent1 or DEFAULT_VPT, self.agent2 or DEFAULT_VPT

    def world_kwargs(self) -> dict:
        """What make_world gets: only the options given, so worlds without them are unaffected."""
        kwargs: dict = {}
        if self.fast:
            kwargs["fast"] = True
        if self.resolution is not None:
            kwargs["resolution"] = parse_resolution(self.resolution)
        if self.biome is not None:
            kwargs["biome"] = self.biome
        return kwargs


def parse_resolution(text: str) -> tuple[int, int]:
    """'640x360' -> (640, 360)."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) < 1 or int(h) < 1:
        raise UsageError(f"--resolution must be WxH in pixels, e.g. 640x360; got {text!r}")
    return int(w), int(h)


def check_writable(directory: str | Path) -> None:
    """A UsageError unless `directory` can be created and written to."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{secrets.token_hex(4)}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"--output-dir {path} is not writable: {err.strerror or err}") from None


def skill_start_items(specs: Sequence[str]) -> dict[str, int]:
    """Items the agents' scripted skills need at episode start (largest count of each)."""
    names = [n for spec in specs for n in skill_names(spec)]
    if not names:
        return {}
    table = skills_module().SKILL_START_ITEMS
    items: dict[str, int] = {}
    for name in names:
        for item, count in table.get(name, {}).items():
            items[item] = max(items.get(item, 0), int(count))
    return items


def run(s: GenerateSettings) -> int:
    from steve1.data.embedding import embed_fn_for

    check_writable(s.output_dir)  # before any model loads or world starts
    set_torch_threads(s.threads)
    seed = s.seed
    if seed is None and not s.overwrite:
        seed = recorded_seed(s.output_dir)
    if seed is None:
        seed = new_run_seed()
    spec1, spec2 = s.agent_specs()
    world_kwargs = s.world_kwargs()
    remote_worlds = None
    if use_ray(s.ray):  # worlds as Ray actors; the agents and MineCLIP batched in one model actor
        from steve1.cluster.generation import ray_parts

        agents = [(spec1, seed), (spec2, seed + 1)]
        agent1, agent2, embed_fn, remote_worlds = ray_parts(s, agents, world_kwargs)
    else:
        agent1, agent2 = make_agent(spec1, seed=seed, device=s.device), make_agent(spec2, seed=seed + 1,
                                                                                   device=s.device)
        embed_fn = embed_fn_for(s.mineclip_config, s.mineclip_weights, s.device, s.batch_size,
                                s.mineclip_dtype)
    shaping = {k: getattr(s, k) for k in OUTPUT_SHAPING}
    if s.mineclip_config != "attn":
        shaping["mineclip_weights"] = None  # not read by the other configs
    if s.biome is not None:  # recorded only when used, so that runs made before biomes existed still resume
        shaping["biome"] = s.biome

    def make(slot: int):
        from steve1.envs import make_world  # lazy: starts game processes

        try:
            return make_world(s.world, **world_kwargs)
        except TypeError as err:
            if not world_kwargs:
                raise
            flags = " ".join(f"--{k}" for k in world_kwargs)
            raise UsageError(f"--world {s.world} does not take {flags} ({err})") from None

    gen = MixedAgentGenerator(
        agent1, agent2, remote_worlds or make, embed_fn, s.output_dir, s.max_timesteps, s.min_timesteps,
        s.switch_agent_prob, s.perform_spin_prob, s.env_seed, seed, s.num_worlds, s.world, s.progress,
        s.max_retries, skill_start_items((spec1, spec2)), shaping, s.overwrite, bump_prob=s.bump_prob,
    )
    stats = gen.run(s.num_episodes)
    failed = f", failed {len(stats.failed)} after {s.max_retries} retries" if stats.failed else ""
    report(f"saved {len(stats.saved)} episodes ({stats.frames} frames), discarded {stats.discarded}, "
           f"{stats.already_done} already there{failed} (run seed {gen.seed})")
    if stats.interrupted:
        return EXIT_INTERRUPTED
    return 1 if stats.failed else 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(GenerateSettings, run, argv, verb="gen-mixed-agents", config_prefix="generate")


if __name__ == "__main__":
    sys.exit(main())
