"""Does a trained STEVE-1 policy use its goal? Its validation loss with the true goals and without them.

    python -m benchmarks.goal_use --policy small --weights data/minetest/policy.weights --sampling minetest
    python -m benchmarks.goal_use --policy tiny --random-weights --sampling tiny --items 4   # a smoke run

Sequences of the sampling's validation episodes are relabelled as in training (packed hindsight goals, no
goal dropout) and the policy's behavioural-cloning loss per step (nats, buttons + camera) is measured three
ways on the same frames and actions:

- true: every step's hindsight goal (what training conditions on);
- zero: the all-zero goal (the unconditional policy, what classifier-free guidance subtracts);
- shuffled: the goals of another sequence of the batch (a goal that belongs to other behaviour).

A policy that reads its goal has true < zero < shuffled; one that ignores it has the three equal. This says
whether the goal input carries behaviour, not whether the agent can reach a goal from elsewhere (the
steerability benchmark measures that in the world).

Last line: `items=<n> true_loss=<x> zero_loss=<y> shuffled_loss=<z> gain_over_zero=<y-x>`
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from steve1.data.hindsight import HindsightConfig, HindsightDataset, load_sampling
from steve1.training.loss import sequence_chunk_losses
from steve1.training.policy_io import build_policy
from steve1.utils.threads import set_torch_threads

GOAL_KINDS = ("true", "zero", "shuffled")


def sequence_losses(model, batch: dict, trunc_t: int) -> dict[str, float]:
    """Loss per step under each kind of goal; batch holds (B, T, ...) tensors of one draw of sequences."""
    goal = batch["goal"]  # (B, T, 512)
    b, t = goal.shape[:2]
    goals = {"true": goal, "zero": torch.zeros_like(goal), "shuffled": goal.roll(max(1, b // 2), 0)}
    # chunk_loss sums over a chunk's steps and averages over the batch: the sum over chunks / T is per step
    return {kind: float(sum(sequence_chunk_losses(model, batch, trunc_t, goal=goals[kind]))) / t
            for kind in GOAL_KINDS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="small", help="policy size (small, tiny, 1x, 2x, 3x)")
    ap.add_argument("--weights", default=None, help="trained policy weights")
    ap.add_argument("--random-weights", action="store_true", help="a random policy (smoke runs)")
    ap.add_argument("--sampling", default="minetest", help="sampling name (steve1 create-sampling)")
    ap.add_argument("--sampling-dir", default="data/samplings")
    ap.add_argument("--T", type=int, default=160, help="sequence length")
    ap.add_argument("--trunc-t", type=int, default=16, help="chunk length (the training's trunc_t)")
    ap.add_argument("--min-btwn-goals", type=int, default=15)
    ap.add_argument("--max-btwn-goals", type=int, default=100)
    ap.add_argument("--items", type=int, default=24, help="validation sequences")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default="cpu", help="torch device of the policy (cpu, cuda)")
    args = ap.parse_args(argv)
    if not args.weights and not args.random_weights:
        ap.error("give --weights (a trained policy) or --random-weights")
    if args.T % args.trunc_t:
        ap.error(f"--T {args.T} is not a multiple of --trunc-t {args.trunc_t}")
    set_torch_threads(args.threads)
    _, val = load_sampling(args.sampling_dir, args.sampling)
    cfg = HindsightConfig(seq_len=args.T, min_btwn_goals=args.min_btwn_goals,
                          max_btwn_goals=args.max_btwn_goals, p_uncond=0.0)
    data = HindsightDataset(val, cfg, seed=args.seed)
    if len(data) < 2:
        ap.error(f"the validation set of sampling {args.sampling} has {len(data)} sequences; need 2")
    n = min(args.items, len(data))
    idx = np.random.default_rng(args.seed).choice(len(data), n, replace=False)
    items = [data[int(i)] for i in idx]
    batch = {k: torch.stack([it[k] for it in items]).to(args.device)
             for k in ("img", "first", "goal", "buttons", "camera")}
    model = build_policy(args.policy, None if args.random_weights else args.weights).to(args.device).eval()
    losses = sequence_losses(model, batch, args.trunc_t)
    print(f"# policy={args.policy} weights={'random' if args.random_weights else args.weights} "
          f"sampling={args.sampling} T={args.T} goals {args.min_btwn_goals}-{args.max_btwn_goals} steps "
          f"ahead")
    print(f"items={n} true_loss={losses['true']:.3f} zero_loss={losses['zero']:.3f} "
          f"shuffled_loss={losses['shuffled']:.3f} gain_over_zero={losses['zero'] - losses['true']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
