"""Time one policy step, unguided vs classifier-free guided, at batch 1 and batch 8.

    python -m benchmarks.policy_step --size 2x [--weights PATH] [--device cpu] [--dtype fp32|bf16] [--steps 5]
                                     [--threads N]

The STEVE-1 (goal-conditioned) policy is built with random weights unless --weights is given (VPT or
STEVE-1 weights; a missing goal layer stays at init). Each measurement warms up first, then unguided and
guided steps are interleaved and the median is reported. Guided = `guided_step` (both streams, 2B state rows);
unguided = one plain `forward` step with a goal (B rows). At batch 8 it also times 8 separate batch-1 guided
steps, to show what batching the worlds buys.

Prints the batch-8 line, then, as the last line, `params=<N> guided_over_unguided=<ratio> ms_per_step=<ms>`
for batch 1, where N counts every state-dict element (goal layer included) and ms_per_step is the guided step.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from steve1.vpt.config import policy_config
from steve1.vpt.policy import VPTPolicy, state_dict_numel
from steve1.vpt.weights import load_policy_weights

GOAL_DIM = 512
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Stepper:
    """Keeps the recurrent state of one benchmarked stream and times single steps."""

    def __init__(self, policy: VPTPolicy, batch: int, guided: bool, cond_scale: float, device: torch.device):
        self.policy, self.batch, self.guided, self.s, self.device = policy, batch, guided, cond_scale, device
        g = torch.Generator().manual_seed(batch)
        self.img = torch.randint(0, 256, (batch, 128, 128, 3), dtype=torch.uint8, generator=g).to(device)
        self.goal = torch.randn(batch, GOAL_DIM, generator=g).to(device)
        self.first = torch.zeros(batch, 1, dtype=torch.bool, device=device)
        self.state = policy.initial_state(2 * batch if guided else batch)

    @torch.inference_mode()
    def step_ms(self) -> float:
        _sync(self.device)
        t0 = time.perf_counter()
        if self.guided:
            out = self.policy.guided_step(self.img, self.goal, self.state, self.s)
        else:
            out = self.policy(self.img[:, None], self.first, self.state, goal=self.goal[:, None])
        _sync(self.device)
        self.state = out.state
        return (time.perf_counter() - t0) * 1e3


def _measure(streams: dict[str, list[_Stepper]], steps: int, warmup: int) -> dict[str, float]:
    """Median ms per step of each named group (a group of several steppers is timed as their sum)."""
    for _ in range(warmup):
        for group in streams.values():
            for s in group:
                s.step_ms()
    times: dict[str, list[float]] = {name: [] for name in streams}
    for _ in range(steps):  # interleaved, so drifting machine load hits every group alike
        for name, group in streams.items():
            times[name].append(sum(s.step_ms() for s in group))
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2x", help="1x, 2x, 3x, tiny, or a .model file")
    ap.add_argument("--weights", default=None, help="VPT or STEVE-1 .weights file (default: random weights)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per measurement (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cond-scale", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    policy = VPTPolicy(policy_config(args.size), goal_dim=GOAL_DIM)
    if args.weights:
        load_policy_weights(policy, args.weights, allow_missing_goal_layer=True)
    policy = policy.to(device=device, dtype=DTYPES[args.dtype]).eval()
    n_params = state_dict_numel(policy)
    print(f"# size={args.size} device={device} dtype={args.dtype} threads={torch.get_num_threads()} "
          f"steps={args.steps} warmup={args.warmup} cond_scale={args.cond_scale}", flush=True)

    def make(batch: int, guided: bool) -> _Stepper:
        return _Stepper(policy, batch, guided, args.cond_scale, device)

    b8 = _measure(
        {"unguided": [make(8, False)], "guided": [make(8, True)],
         "single": [make(1, True) for _ in range(8)]},
        args.steps, args.warmup,
    )
    b1 = _measure({"unguided": [make(1, False)], "guided": [make(1, True)]}, args.steps, args.warmup)
    print(f"# batch=8 unguided_ms={b8['unguided']:.1f} guided_ms={b8['guided']:.1f} "
          f"eight_single_guided_ms={b8['single']:.1f}; batch=1 unguided_ms={b1['unguided']:.1f} "
          f"guided_ms={b1['guided']:.1f}")
    print(f"batch=8 params={n_params} guided_over_unguided={b8['guided'] / b8['unguided']:.3f} "
          f"ms_per_step={b8['guided']:.1f} ms_per_world_step={b8['guided'] / 8:.1f} "
          f"eight_single_guided_ms={b8['single']:.1f} batched_speedup={b8['single'] / b8['guided']:.2f}")
    ratio = b1["guided"] / b1["unguided"]
    print(f"params={n_params} guided_over_unguided={ratio:.3f} ms_per_step={b1['guided']:.1f}")


if __name__ == "__main__":
    main()
