"""Steps per second of the full text-prompted STEVE-1 agent, at batch 8 (worlds) and batch 1.

    python -m benchmarks.agent_step --size 2x [--device cpu] [--dtype fp32|bf16] [--steps 5]
                                    [--compile reduce-overhead]

The models have RANDOM WEIGHTS (released files are not needed; the compute is the same): the policy at
--size with the 512-d goal layer, MineCLIP attn, the 512/512/512 prior. The goal is made once per prompt
(MineCLIP text tower -> prior sample; timed as goal_ms); an agent step is what runs every tick: resize the
640x360 frames to 128x128, one classifier-free-guided policy step for all worlds (CNN once, conditional and
unconditional streams), Gumbel sampling, conversion to MineRL action dicts. The median step time is
reported; steps_per_s_b8 counts world-steps (8 per agent step).

Last line: `steps_per_s=<batch 1> steps_per_s_b8=<batch 8 world-steps> ms_per_step=<batch 1> goal_ms=<...>`.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from steve1.agent import Steve1Agent, load_agent_models, text_goal
from steve1.run.common import DTYPES
from steve1.vpt.compiled import COMPILE_MODES


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_agent(agent: Steve1Agent, goal: np.ndarray, steps: int, warmup: int) -> float:
    """Median seconds per agent step over `steps` steps (after `warmup`)."""
    rng = np.random.default_rng(0)
    obs = [{"pov": rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)} for _ in range(agent.n_worlds)]
    times = []
    for i in range(warmup + steps):
        _sync(agent.device)
        t0 = time.perf_counter()
        actions = agent.act(obs, goal)
        _sync(agent.device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
        assert len(actions) == agent.n_worlds
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2x", help="policy size: 1x, 2x, 3x, tiny")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per batch size (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--compile", choices=COMPILE_MODES, default=None,
                    help="torch.compile the guided step (steve1.vpt.compiled; CUDA graphs on GPU)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    models = load_agent_models(args.size, mineclip="attn", random_weights=True, device=device)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    goal = text_goal("chop down the tree", models.embedder, models.prior, gen)
    _sync(device)
    goal_ms = (time.perf_counter() - t0) * 1e3
    print(f"RANDOM WEIGHTS, policy {args.size}, {args.dtype} on {device}, torch threads "
          f"{torch.get_num_threads()}, compile {args.compile}; goal (MineCLIP text + prior) {goal_ms:.1f} ms")
    per_step = {}
    for batch in (8, 1):
        agent = Steve1Agent(models.policy, n_worlds=batch, generator=torch.Generator().manual_seed(1),
                            autocast_dtype=DTYPES[args.dtype], compile_mode=args.compile)
        per_step[batch] = time_agent(agent, goal, args.steps, args.warmup)
        print(f"batch={batch} ms_per_agent_step={per_step[batch] * 1e3:.1f} "
              f"world_steps_per_s={batch / per_step[batch]:.2f}")
    print(f"steps_per_s={1 / per_step[1]:.3f} steps_per_s_b8={8 / per_step[8]:.3f} "
          f"ms_per_step={per_step[1] * 1e3:.1f} goal_ms={goal_ms:.1f}")


if __name__ == "__main__":
    main()
