"""Frames per second of mixed-agent generation into episodes on disk: scripted skills in N Minetest worlds
(fast settings), MineCLIP embeddings from the tiny MineCLIP, everything the `gen-mixed-agents` verb does.

    python -m benchmarks.gen_throughput                       # 4 fast worlds, 8 episodes of 1000 steps
    python -m benchmarks.gen_throughput --worlds 2 --steps 600 --episodes 4 --skills chop_tree+dig_dirt
    python -m benchmarks.gen_throughput --device cuda          # MineCLIP on the GPU

Last line: `frames_per_s=<x> frames=<n> wall_s=<s> worlds=<n> agents=<what acted> world_settings=<what>
load_avg_1min=<l>`.
frames_per_s counts the frames of saved episodes over the wall time of the run (world starts included; the
worlds of free slots start together). The default worlds are the fast preset's FAST_WORLDS
(steve1.envs.minetest.world: what two cores step at 20 per second each with the fast settings); MineCLIP
runs on the generator's background thread.
When steve1.data.skills is not installed the agents are random ones (said in the output), and when the
Minetest world has no `fast` option the worlds run unpaced instead (said too). `--stand-in-worlds`
measures generation itself (agents, frames, MineCLIP, episode files) with worlds that cost nothing:

    python -m cProfile -s cumulative -m benchmarks.gen_throughput --stand-in-worlds | head -40
"""
from __future__ import annotations

import argparse
import inspect
import os
import tempfile
import time

import numpy as np
import torch

from steve1.data.agents import make_agent, skills_module
from steve1.data.embedding import embed_fn_for
from steve1.data.gen_mixed_agents import MixedAgentGenerator, skill_start_items
from steve1.envs import make_observation, make_world
from steve1.envs.minetest.world import FAST_WORLDS
from steve1.spaces import POV_SHAPE
from steve1.utils.threads import WORLD_TORCH_THREADS


class StandInWorld:
    """A world without a game (640x360 frames of noise, fixed per step): the generator's own ceiling."""

    def __init__(self):
        self.frames = np.random.default_rng(0).integers(0, 256, (8, *POV_SHAPE), dtype=np.uint8)
        self.t = 0

    def reset(self, seed=None):
        self.t = 0
        return make_observation(self.frames[0], {}, (0, 0, 0), 0, 0, 20), {}

    def step(self, action):
        self.t += 1
        return make_observation(self.frames[self.t % 8], {}, (self.t, 0, 0), 0, 0, 20), 0.0, False, False, {}

    def close(self):
        pass


def world_settings() -> tuple[dict, str]:
    """make_world kwargs for the fast settings (or the nearest this install has), and their name."""
    from steve1.envs.minetest import MinetestWorld

    params = inspect.signature(MinetestWorld.__init__).parameters
    if "fast" in params:
        return {"fast": True}, "fast"
    return {"pace": False}, "unpaced(no-fast-option)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=FAST_WORLDS)
    parser.add_argument("--steps", type=int, default=1000, help="steps per episode")
    parser.add_argument("--episodes", type=int, default=2 * FAST_WORLDS)
    parser.add_argument("--skills", default="", help="a skill mix a+b+... (default: every skill)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=WORLD_TORCH_THREADS, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="torch device of the MineCLIP (cpu, cuda)")
    parser.add_argument("--inline-embedding", action="store_true",
                        help="embed on the stepping thread, as before the background worker (to compare)")
    parser.add_argument("--stand-in-worlds", action="store_true",
                        help="worlds without a game: what generation itself costs (profile with cProfile)")
    args = parser.parse_args(argv)
    if args.worlds < 1 or args.steps < 16 or args.episodes < 1:
        parser.error("need --worlds >= 1, --steps >= 16, --episodes >= 1")
    try:
        names = args.skills.split("+") if args.skills else list(skills_module().SKILLS)
        specs = (f"skills:{'+'.join(names)}",) * 2
        agents = [make_agent(spec, seed=args.seed + k) for k, spec in enumerate(specs)]
        what = "skills:" + "+".join(names)
    except ImportError:
        print("steve1.data.skills is not installed: falling back to random agents", flush=True)
        specs = ("random:random1", "random:random2")
        agents = [make_agent(spec, seed=args.seed + k) for k, spec in enumerate(specs)]
        what = "random"
    torch.set_num_threads(args.threads)
    if args.stand_in_worlds:
        settings_name = "stand-in"

        def make(slot):
            return StandInWorld()
    else:
        kwargs, settings_name = world_settings()

        def make(slot):
            return make_world("minetest", **kwargs)

    where = "in line" if args.inline_embedding else "background thread"
    print(f"world settings: {settings_name}; MineCLIP: tiny on {args.device}, on the {where}; "
          f"torch threads: {args.threads}; cores: {os.cpu_count()}; "
          f"load: {os.getloadavg()[0]:.1f}", flush=True)
    embed_fn = embed_fn_for("tiny", None, args.device, batch_size=16)
    with tempfile.TemporaryDirectory() as out:
        gen = MixedAgentGenerator(agents[0], agents[1], make, embed_fn, out, max_timesteps=args.steps,
                                  min_timesteps=16, seed=args.seed, num_worlds=args.worlds,
                                  world_kind="minetest", progress=False, start_items=skill_start_items(specs),
                                  background_embedding=not args.inline_embedding)
        t0 = time.perf_counter()
        stats = gen.run(args.episodes)
        wall = time.perf_counter() - t0
    if stats.failed:
        print(f"{len(stats.failed)} episode(s) failed: {stats.failed[0][1]}")
    print(f"frames_per_s={stats.frames / wall:.1f} frames={stats.frames} wall_s={wall:.1f} "
          f"worlds={args.worlds} agents={what} world_settings={settings_name} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
