"""Steps per second of a random agent in a world at 640x360.

    python -m benchmarks.world_fps --world minetest --steps 300

Last line: `steps_per_s=<x> grab_ms=<ms> step_ms=<ms>`: grab_ms is reading one frame and the state
(mean), step_ms the work of one step without the pacing sleep (mean). Minetest steps are paced to 20 per
second of game time (MineRL's rate), so 20 is the most a paced run can show; --no-pace shows the raw rate.
Before it: the fraction of steps that saw a frame the game had not shown before (1.0 when the game renders
at least 20 frames/s), the CPU the game and the virtual display used (in cores), the CPU per distinct frame,
and the machine's load (other work on the same cores).
"""
from __future__ import annotations

import argparse
import os
import time
import zlib

import numpy as np

from steve1.envs import make_world
from steve1.spaces import BUTTON_KEYS, CAMERA_KEY

RARE_BUTTONS = ("ESC", "inventory", "drop")  # a random agent that toggles the inventory sees mostly the GUI


def random_action(rng: np.random.Generator) -> dict:
    """A random MineRL action: buttons pressed with p=0.1 (rare GUI buttons p=0.01), camera N(0, 5 deg)."""
    probs = np.array([0.01 if key in RARE_BUTTONS else 0.1 for key in BUTTON_KEYS])
    pressed = rng.random(len(BUTTON_KEYS)) < probs
    action = {key: int(p) for key, p in zip(BUTTON_KEYS, pressed, strict=True)}
    action[CAMERA_KEY] = np.clip(rng.normal(0, 5, size=2), -10, 10).astype(np.float32)
    return action


def _cpu_s(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, clock ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="minetest", help="minetest, minerl or minestudio")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--no-pace", action="store_true", help="do not pace steps to 20 per second")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    kwargs = {"pace": not args.no_pace} if args.world == "minetest" else {}
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with make_world(args.world, **kwargs) as world:
        obs, info = world.reset(seed=args.seed)
        print(f"world={args.world} reset_s={time.perf_counter() - t0:.1f} pov={obs['pov'].shape}")
        pids = {k: p for k, p in getattr(world, "pids", {}).items() if p}  # game, xvfb
        cpu0 = {k: _cpu_s([p]) for k, p in pids.items()}
        grab, work, frames, faults = [], [], set(), 0
        start = time.perf_counter()
        for _ in range(args.steps):
            t = time.perf_counter()
            obs, _, terminated, truncated, info = world.step(random_action(rng))
            work.append(getattr(world, "timing", {}).get("step_ms", (time.perf_counter() - t) * 1e3))
            grab.append(getattr(world, "timing", {}).get("grab_ms", 0.0))
            frames.add(zlib.crc32(obs["pov"][::8, ::8].tobytes()))
            faults += bool(info.get("fault"))
            if terminated:
                world.reset()
        elapsed = time.perf_counter() - start
        cpu = {k: _cpu_s([p]) - cpu0[k] for k, p in pids.items()}
    new_frames = len(frames) / args.steps
    cores = " ".join(f"{k}_cpu_cores={v / elapsed:.2f}" for k, v in cpu.items())
    per_frame = sum(cpu.values()) / max(len(frames), 1) * 1e3
    print(f"new_frame_per_step={new_frames:.2f} {cores} cpu_ms_per_frame={per_frame:.1f} faults={faults} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")
    print(f"steps_per_s={args.steps / elapsed:.2f} grab_ms={np.mean(grab):.2f} step_ms={np.mean(work):.2f}")


if __name__ == "__main__":
    main()
