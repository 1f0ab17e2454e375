"""Steps per second of random agents in one or several worlds.

    python -m benchmarks.world_fps --world minetest --steps 300
    python -m benchmarks.world_fps --world minetest --fast --steps 600
    python -m benchmarks.world_fps --world minetest --worlds 2 --resolution 320x180 --set viewing_range=40

One world at the default size (no --fast/--worlds/--resolution), last line:
`steps_per_s=<x> grab_ms=<ms> step_ms=<ms>`: grab_ms is reading one frame and the state (mean), step_ms the
work of one step without the pacing sleep (mean). Minetest steps are paced to 20 per second of game time
(MineRL's rate), so 20 is the most a paced run can show; --no-pace shows the raw rate. Before it: the
fraction of steps that saw a frame the game had not shown before (1.0 when the game renders at least 20
frames/s), the CPU the game and the virtual display used (in cores), the CPU per distinct frame, the mean
time a step waited past its tick for the game's next frame (fresh_wait_ms), and the machine's load (other
work on the same cores).

Several worlds (--worlds N, or --fast: FAST_WORLDS worlds with the world's fast preset and render size)
step together, every action sent first and then every result waited for (World.step_send/step_wait);
--steps is per world. Last line: `worlds=<n> resolution=<WxH> steps_per_s=<aggregate>
new_frame_per_step=<mean over worlds>`.
"""
from __future__ import annotations

import argparse
import os
import time
import zlib

import numpy as np

from steve1.envs import make_world
from steve1.envs.minetest.world import FAST_WORLDS
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


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--resolution must be WxH (320x180), not {text!r}") from None
    return width, height


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set must be KEY=VALUE (a minetest.conf setting); got {text!r}")
    return key.strip(), value.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="minetest", help="minetest, minerl or minestudio")
    parser.add_argument("--steps", type=int, default=300, help="steps per world")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--no-pace", action="store_true", help="do not pace steps to 20 per second")
    parser.add_argument("--fast", action="store_true", help="the worlds, render size and settings best on "
                        "two cores (Minetest)")
    parser.add_argument("--worlds", type=int, help="worlds stepped together (default 1, --fast: "
                        f"{FAST_WORLDS})")
    parser.add_argument("--resolution", type=_resolution, help="render size WIDTHxHEIGHT (Minetest)")
    parser.add_argument("--set", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                        help="a minetest.conf setting for every world (repeatable)")
    parser.add_argument("--render-threads", type=int, help="llvmpipe rasterizer threads per game "
                        "(LP_NUM_THREADS; 0: in the game's thread)")
    parser.add_argument("--fresh-frame-wait-ms", type=float, help="how long past its tick a step waits for "
                        "a frame the last one did not show (Minetest; default the world's, 0: no wait)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.worlds is not None and args.worlds < 1:
        parser.error("--worlds must be at least 1")
    several = args.fast or args.worlds is not None or args.resolution is not None
    n_worlds = args.worlds or (FAST_WORLDS if args.fast else 1)
    kwargs = {}
    if args.world == "minetest":
        kwargs = {"pace": not args.no_pace, "fast": args.fast, "settings": dict(args.set)}
        if args.resolution:
            kwargs["resolution"] = args.resolution
        if args.render_threads is not None:
            kwargs["render_threads"] = args.render_threads
        if args.fresh_frame_wait_ms is not None:
            kwargs["fresh_frame_wait_s"] = args.fresh_frame_wait_ms / 1e3
    elif args.fast or args.resolution or args.set or args.fresh_frame_wait_ms is not None:
        parser.error("--fast, --resolution, --set and --fresh-frame-wait-ms are for --world minetest")
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    worlds = []
    try:
        for _ in range(n_worlds):
            worlds.append(make_world(args.world, **kwargs))
        for i, world in enumerate(worlds):
            obs, info = world.reset(seed=args.seed + i)
        height, width = obs["pov"].shape[:2]
        print(f"world={args.world} worlds={n_worlds} reset_s={time.perf_counter() - t0:.1f} "
              f"pov={obs['pov'].shape}")
        pids = [p for world in worlds for p in getattr(world, "pids", {}).values() if p]  # games, displays
        cpu0 = _cpu_s(pids)
        grab, work, waited, faults = [], [], [], 0
        frames = [set() for _ in worlds]
        start = time.perf_counter()
        for _ in range(args.steps):
            t = time.perf_counter()
            for world in worlds:
                world.step_send(random_action(rng))
            for i, world in enumerate(worlds):
                obs, _, terminated, truncated, info = world.step_wait()
                grab.append(getattr(world, "timing", {}).get("grab_ms", 0.0))
                waited.append(getattr(world, "timing", {}).get("fresh_wait_ms", 0.0))
                work.append(getattr(world, "timing", {}).get("step_ms", (time.perf_counter() - t) * 1e3))
                frames[i].add(zlib.crc32(obs["pov"].tobytes()))
                faults += bool(info.get("fault"))
                if terminated:
                    world.reset()
        elapsed = time.perf_counter() - start
        cpu = _cpu_s(pids) - cpu0
    finally:
        for world in worlds:
            world.close()
    new_frames = float(np.mean([len(f) for f in frames])) / args.steps
    per_frame = cpu / max(sum(len(f) for f in frames), 1) * 1e3
    print(f"new_frame_per_step={new_frames:.2f} cpu_cores={cpu / elapsed:.2f} "
          f"cpu_ms_per_frame={per_frame:.1f} fresh_wait_ms={np.mean(waited):.1f} faults={faults} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")
    if several:
        rate = n_worlds * args.steps / elapsed
        print(f"worlds={n_worlds} resolution={width}x{height} steps_per_s={rate:.2f} "
              f"new_frame_per_step={new_frames:.2f}")
    else:
        print(f"steps_per_s={args.steps / elapsed:.2f} grab_ms={np.mean(grab):.2f} "
              f"step_ms={np.mean(work):.2f}")


if __name__ == "__main__":
    main()
