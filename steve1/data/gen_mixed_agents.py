"""Mixed-agent episode generation (`train/1_generate_dataset.sh`, second half; steve1.md §3.4).

Two agents take turns in a world: each step the active one hands over with a small probability (the new one
is reset), and now and then a random spin (90-360 degrees of yaw at 20-30 degrees per step) interrupts them.
Frames (128x128), actions and per-step MineCLIP embeddings are stored as episodes named like the original's
(`<uuid>_models[<w1>,<w2>]_mxFrm<max>_nmFrm<N>_seed<seed>_term<Reason>`) with the original's metadata.

Per step and world, in the original's order: switch test, spin test, MineCLIP frame of the current
observation, action (active agent, or the next spin action; the agent is reset when a spin ends), world
step, store the pre-action frame and the action. Episodes end at `max_timesteps`, on Ctrl-C
(`termKeyboard`) or on a world error (`termException`, `error_msg` in metadata); shorter than
`min_timesteps` are discarded.

Differences from the original:
- any two agents (see `steve1.data.agents`), any world (`steve1.envs.make_world`: Minetest or MineRL),
  several worlds stepped together with batched agent calls; the agent pair is fixed for a run;
- switch probabilities: exactly one agent named `rl_from*` -> 1/3000 to it, 1/1000 away (as the original);
  otherwise `switch_agent_prob` both ways. The original raised ValueError when both were RL, which made its
  only shipped pair (rl_from_foundation_2x twice) crash before the first episode;
- a world that reports terminated/truncated ends the episode as `termDone` (MineRL HumanSurvival never does);
- embeddings are computed while the episode runs, in chunks (bounded memory), and episodes are written
  atomically; Ctrl-C saves the running episodes that are long enough and then stops the run;
- all randomness comes from one seeded generator (`--seed`), so a run is reproducible given the same world.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from steve1.data.agents import AGENT_BUTTON_KEYS, Agent, make_agent
from steve1.data.embedding import (
    CHUNK_FRAMES,
    EMBED_CONFIGS,
    MINECLIP_FRAME_HW,
    EmbedFn,
    StreamingEmbedder,
    default_device,
    embed_fn_for,
)
from steve1.data.episode import FRAME_SIZE, EpisodeWriter, remove_stale_partials
from steve1.data.episode_names import mixed_agents_episode_name
from steve1.spaces import CAMERA_KEY
from steve1.utils.frames import resize_linear

SWITCH_TO_RL_PROB = 1 / 3000
SWITCH_TO_NON_RL_PROB = 1 / 1000
SPIN_TOTAL_DEGREES = (90, 360)  # randint bounds, inclusive
SPIN_DEGREES_PER_STEP = (20, 30)
MAX_SEED = 2**25

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


@dataclass
class _Slot:
    """One world and the episode running in it."""

    world: object
    seed: int
    writer: EpisodeWriter
    embedder: StreamingEmbedder
    obs: dict
    agent2_active: bool
    metadata: dict
    switches: list = field(default_factory=list)
    spins: list = field(default_factory=list)
    spin_queue: list | None = None
    t: int = 0
    t0: float = field(default_factory=time.time)
    clip_buf: list = field(default_factory=list)
    policy_buf: list = field(default_factory=list)
    pending: tuple | None = None  # (MineCLIP frame, policy frame) of the step in progress

    def commit(self, action: dict) -> None:
        """Store the step in progress (only once the world accepted its action)."""
        clip, policy = self.pending
        self.clip_buf.append(clip)
        self.policy_buf.append(policy)
        self.writer.actions.append(action)
        self.pending = None
        self.t += 1

    def flush(self) -> None:
        if self.policy_buf:
            self.writer.add_frames(np.stack(self.policy_buf))  # (n, 128, 128, 3)
            self.writer.add_embeds(self.embedder.push(np.stack(self.clip_buf)))  # (n, 160, 256, 3) in
            self.policy_buf.clear()
            self.clip_buf.clear()


@dataclass
class GenerationStats:
    saved: list[Path] = field(default_factory=list)
    discarded: int = 0
    frames: int = 0


class MixedAgentGenerator:
    def __init__(
        self, agent1: Agent, agent2: Agent, world_factory: WorldFactory, embed_fn: EmbedFn,
        output_dir: str | Path,
        max_timesteps: int = 7200, min_timesteps: int = 1000, switch_agent_prob: float = 0.001,
        perform_spin_prob: float = 0.00133, env_seed: int | None = None, seed: int | None = None,
        num_worlds: int = 1, world_kind: str = "", progress: bool = True,
    ):
        if not 0 <= switch_agent_prob <= 1 or not 0 <= perform_spin_prob <= 1:
            raise ValueError("switch_agent_prob and perform_spin_prob must be probabilities in [0, 1]")
        if not 1 <= min_timesteps <= max_timesteps:
            raise ValueError(f"need 1 <= min_timesteps ({min_timesteps}) <= max_timesteps ({max_timesteps})")
        self.agents = (agent1, agent2)
        self.world_factory, self.embed_fn = world_factory, embed_fn
        self.output_dir = Path(output_dir)
        self.max_timesteps, self.min_timesteps = max_timesteps, min_timesteps
        self.switch_agent_prob, self.perform_spin_prob = switch_agent_prob, perform_spin_prob
        self.p_to1, self.p_to2 = switch_probs(agent1.name, agent2.name, switch_agent_prob)
        self.env_seed = env_seed
        self.rng = random.Random(seed)
        self.num_worlds, self.world_kind, self.progress = num_worlds, world_kind, progress
        self.stats = GenerationStats()

    # -- episode lifecycle -------------------------------------------------------------------------------
    def _base_metadata(self) -> dict:
        a1, a2 = self.agents
        return {
            "output_dir": str(self.output_dir), "max_timesteps": self.max_timesteps,
            "min_timesteps": self.min_timesteps, "switch_agent_prob": self.switch_agent_prob,
            "perform_spin_prob": self.perform_spin_prob,
            "agent1_name": a1.name, "agent1_in_model": a1.in_model, "agent1_in_weights": a1.in_weights,
            "agent2_name": a2.name, "agent2_in_model": a2.in_model, "agent2_in_weights": a2.in_weights,
            "world": self.world_kind,
        }

    def _start(self, i: int, world: object | None) -> _Slot:
        seed = self.env_seed if self.env_seed is not None else self.rng.randint(0, MAX_SEED - 1)
        if world is None:
            world = self.world_factory(i)
        obs, _ = world.reset(seed=seed)
        agent2_active = self.rng.choice([False, True])
        for agent in self.agents:
            agent.reset_slots([i])
        meta = self._base_metadata()
        meta.update(seed=seed, switch_to_agent1_prob=self.p_to1, switch_to_agent2_prob=self.p_to2)
        slot = _Slot(world, seed, EpisodeWriter(self.output_dir), StreamingEmbedder(self.embed_fn), obs,
                     agent2_active, meta)
        slot.switches.append([0, agent2_active])
        return slot

    def _end(self, slot: _Slot, reason: str, error: BaseException | None = None) -> None:
        if error is not None:
            slot.metadata["error_msg"] = str(error)
        if slot.t < self.min_timesteps:
            slot.writer.abort()
            self.stats.discarded += 1
            print(f"episode discarded: {slot.t} < min_timesteps {self.min_timesteps} ({reason})",
                  file=sys.stderr)
            return
        slot.flush()
        slot.metadata.update(total_minutes=round((time.time() - slot.t0) / 60, 4), switches=slot.switches,
                             spins=slot.spins)
        a1, a2 = self.agents
        name = mixed_agents_episode_name(a1.in_weights or a1.name, a2.in_weights or a2.name,
                                         self.max_timesteps, slot.t, slot.seed, reason)
        self.stats.saved.append(slot.writer.finish(name, slot.metadata))
        self.stats.frames += slot.t

    # -- the loop ------------------------------------------------------------------------------------------
    def _pre_action(self, i: int, slot: _Slot) -> None:
        """Switch test, spin test, frames of the current observation."""
        if slot.agent2_active and self.rng.random() < self.p_to1:
            slot.agent2_active = False
            self.agents[0].reset_slots([i])
            slot.switches.append([slot.t, False])
        elif not slot.agent2_active and self.rng.random() < self.p_to2:
            slot.agent2_active = True
            self.agents[1].reset_slots([i])
            slot.switches.append([slot.t, True])
        if slot.spin_queue is None and self.rng.random() < self.perform_spin_prob:
            slot.spin_queue = spin_actions(self.rng)
            slot.spins.append(slot.t)
            if not slot.spin_queue:
                slot.spin_queue = None
        pov = np.asarray(slot.obs["pov"])
        if pov.ndim != 3 or pov.shape[2] != 3 or pov.dtype != np.uint8:
            raise ValueError(f"world observation 'pov' must be (H, W, 3) uint8, got {pov.shape} {pov.dtype}")
        slot.pending = (resize_linear(pov, MINECLIP_FRAME_HW), resize_linear(pov, (FRAME_SIZE, FRAME_SIZE)))

    def _actions(self, slots: dict[int, _Slot]) -> dict[int, dict]:
        actions: dict[int, dict] = {}
        for which, agent in enumerate(self.agents):
            ids = [i for i, s in slots.items() if s.spin_queue is None and s.agent2_active == bool(which)]
            if ids:
                for i, a in zip(ids, agent.act([slots[i].obs for i in ids], ids), strict=True):
                    actions[i] = a
        for i, s in slots.items():
            if s.spin_queue is not None:
                actions[i] = s.spin_queue.pop(0)
                if not s.spin_queue:
                    s.spin_queue = None
                    self.agents[int(s.agent2_active)].reset_slots([i])
        return actions

    def run(self, num_episodes: int) -> GenerationStats:
        """Generate `num_episodes` episodes (started), spread over `num_worlds` worlds."""
        from tqdm import tqdm

        removed = remove_stale_partials(self.output_dir)
        if removed:
            print(f"removed {removed} partial episode(s) left by an interrupted run", file=sys.stderr)
        for agent in self.agents:
            agent.reset(self.num_worlds)
        slots: dict[int, _Slot] = {}
        worlds: dict[int, object] = {}
        started = 0
        bar = tqdm(total=num_episodes * self.max_timesteps, unit="step", disable=not self.progress,
                   desc="mixed agents")
        try:
            for i in range(min(self.num_worlds, num_episodes)):
                slots[i] = self._start(i, None)
                worlds[i] = slots[i].world
                started += 1
            while slots:
                for i, s in slots.items():
                    self._pre_action(i, s)
                actions = self._actions(slots)
                finished: list[tuple[int, str, BaseException | None]] = []
                errors: dict[int, Exception] = {}
                for i, s in slots.items():  # send to every world first, so they step concurrently
                    if hasattr(s.world, "step_send"):
                        try:
                            s.world.step_send(actions[i])
                        except Exception as e:
                            errors[i] = e
                for i, s in slots.items():
                    try:
                        if i in errors:
                            raise errors[i]
                        if hasattr(s.world, "step_send"):
                            s.obs, _, terminated, truncated, _ = s.world.step_wait()
                        else:
                            s.obs, _, terminated, truncated, _ = s.world.step(actions[i])
                    except Exception as e:  # a world failure ends this episode only; as the original,
                        finished.append((i, "exception", e))  # the failed step is not stored
                        continue
                    s.commit(actions[i])
                    if len(s.policy_buf) >= CHUNK_FRAMES:
                        s.flush()
                    if s.t >= self.max_timesteps:
                        finished.append((i, "maxTimesteps", None))
                    elif terminated or truncated:
                        finished.append((i, "done", None))
                bar.update(len(slots))
                for i, reason, err in finished:
                    self._end(slots.pop(i), reason, err)
                    world = worlds.pop(i)
                    if reason == "exception":
                        _close(world)
                        world = None
                    if started < num_episodes:
                        slots[i] = self._start(i, world)
                        worlds[i] = slots[i].world
                        started += 1
                    elif world is not None:
                        _close(world)
        except KeyboardInterrupt as e:
            for s in list(slots.values()):
                self._end(s, "keyboard", e)
            slots.clear()
        finally:
            bar.close()
            for s in slots.values():
                s.writer.abort()
            for w in worlds.values():
                _close(w)
        return self.stats


def _close(world: object | None) -> None:
    if world is not None:
        try:
            world.close()
        except Exception as e:  # closing a dead world must not hide the original problem
            print(f"warning: closing the world failed: {e}", file=sys.stderr)


def _parse_agents(specs: Sequence[str], seed: int, device: str) -> tuple[Agent, Agent]:
    return make_agent(specs[0], seed=seed, device=device), make_agent(specs[1], seed=seed + 1, device=device)


DEFAULT_VPT = "vpt:data/weights/vpt/2x.model:data/weights/vpt/rl-from-foundation-2x.weights"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--output_dir", default="data/dataset_mixed_agents/")
    p.add_argument("--world", default="minetest", choices=["minetest", "minerl"])
    p.add_argument("--num_worlds", type=int, default=1, help="worlds run at once")
    p.add_argument("--agent1", default=DEFAULT_VPT, help="'random[:name]' or 'vpt:<model>:<weights>'")
    p.add_argument("--agent2", default=DEFAULT_VPT)
    p.add_argument("--max_timesteps", type=int, default=7200)
    p.add_argument("--min_timesteps", type=int, default=1000)
    p.add_argument("--env_seed", type=int, default=None, help="world seed of every episode (default: random)")
    p.add_argument("--seed", type=int, default=None, help="seed of the switch/spin/world-seed generator")
    p.add_argument("--switch_agent_prob", type=float, default=0.001)
    p.add_argument("--perform_spin_prob", type=float, default=0.00133)
    p.add_argument("--batch_size", type=int, default=4, help="MineCLIP windows per forward pass")
    p.add_argument("--num_episodes", type=int, default=5)
    p.add_argument("--mineclip_weights", default="data/weights/mineclip/attn.pth")
    p.add_argument("--mineclip", "--mineclip_config", dest="mineclip_config", default="attn",
                   help=f"{', '.join(EMBED_CONFIGS)} or a MineCLIP checkpoint of ours (train-mineclip)")
    p.add_argument("--mineclip_dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument("--device", default=default_device())
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    agent1, agent2 = _parse_agents([a.agent1, a.agent2], a.seed or 0, a.device)
    embed_fn = embed_fn_for(a.mineclip_config, a.mineclip_weights, a.device, a.batch_size, a.mineclip_dtype)
    from steve1.envs import make_world  # lazy: starts game processes

    gen = MixedAgentGenerator(
        agent1, agent2, lambda i: make_world(a.world), embed_fn, a.output_dir, a.max_timesteps,
        a.min_timesteps, a.switch_agent_prob, a.perform_spin_prob, a.env_seed, a.seed, a.num_worlds,
        a.world,
    )
    stats = gen.run(a.num_episodes)
    print(f"saved {len(stats.saved)} episodes ({stats.frames} frames), discarded {stats.discarded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
