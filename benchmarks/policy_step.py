"""Time one policy step, unguided vs classifier-free guided, at batch 1 and batch 8.

    python -m benchmarks.policy_step --size 2x [--weights PATH] [--device cpu] [--dtype fp32|bf16]
                                     [--steps 30] [--steps-b8 10] [--threads N] [--basis auto|wall|cpu]
                                     [--compile default|reduce-overhead|...]

The STEVE-1 (goal-conditioned) policy is built with random weights unless --weights is given (VPT or
STEVE-1 weights; a missing goal layer stays at init). Each measurement warms up first, then unguided and
guided steps are interleaved and the median is reported. Guided = `guided_step` (both streams, 2B state rows);
unguided = one plain `forward` step with a goal (B rows). At batch 8 it also times 8 separate batch-1 guided
steps, to show what batching the worlds buys. --compile times the guided step compiled with that
torch.compile mode (`steve1.vpt.compiled`; reduce-overhead = CUDA graphs on GPU; the first steps compile).

Threads: on a machine whose load average already exceeds its core count, torch's default (one thread per
core) makes every step wait for descheduled OpenMP threads (measured on the 2x model, load average 4-7 on
2 cores: 640 ms wall per guided step with 2 threads, 126 ms with 1), so the default then is 1 thread.

Every step is timed twice: wall clock and the process's CPU time (`time.process_time`, all threads). On a
machine shared with other jobs, wall time counts the time spent waiting for a core, so `--basis auto` reports
CPU time when the 1-minute load average exceeds the core count (on CUDA always wall time); the line before
the last says which basis was used and gives both ratios.

The CNN alone is also timed for 8 frames: `cnn_cap` = (8 single guided steps) / (that CNN time) is the
batched speedup the step would reach if everything after the CNN (transformer, heads) cost nothing, since
the CNN's compute per frame is the same in a batch (the bound the batch-8 figure is measured against).

Prints the batch-8 line, the basis line, then, as the last line,
`params=<N> guided_over_unguided=<ratio> ms_per_step=<ms>` for batch 1, where N counts every state-dict
element (goal layer included) and ms_per_step is the guided step.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from steve1.vpt.compiled import COMPILE_MODES, compiled_guided_step
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

    def __init__(self, policy: VPTPolicy, batch: int, guided: bool, cond_scale: float, device: torch.device,
                 guided_step=None):
        self.policy, self.batch, self.guided, self.s, self.device = policy, batch, guided, cond_scale, device
        self.guided_step = guided_step or policy.guided_step
        g = torch.Generator().manual_seed(batch)
        self.img = torch.randint(0, 256, (batch, 128, 128, 3), dtype=torch.uint8, generator=g).to(device)
        self.goal = torch.randn(batch, GOAL_DIM, generator=g).to(device)
        self.first = torch.zeros(batch, 1, dtype=torch.bool, device=device)
        self.state = policy.initial_state(2 * batch if guided else batch)

    @torch.inference_mode()
    def step_ms(self) -> tuple[float, float]:
        """(wall ms, process CPU ms) of one step."""
        _sync(self.device)
        w0, c0 = time.perf_counter(), time.process_time()
        if self.guided:
            out = self.guided_step(self.img, self.goal, self.state, self.s)
        else:
            out = self.policy(self.img[:, None], self.first, self.state, goal=self.goal[:, None])
        _sync(self.device)
        w1, c1 = time.perf_counter(), time.process_time()
        self.state = out.state
        return (w1 - w0) * 1e3, (c1 - c0) * 1e3


class _CnnTimer:
    """Times the image encoder alone (uint8 frames -> features) for a batch of frames."""

    def __init__(self, policy: VPTPolicy, batch: int, device: torch.device):
        self.policy, self.device = policy, device
        g = torch.Generator().manual_seed(100 + batch)
        self.img = torch.randint(0, 256, (batch, 128, 128, 3), dtype=torch.uint8, generator=g).to(device)

    @torch.inference_mode()
    def step_ms(self) -> tuple[float, float]:
        _sync(self.device)
        w0, c0 = time.perf_counter(), time.process_time()
        self.policy.net.encode_frames(self.img)
        _sync(self.device)
        return (time.perf_counter() - w0) * 1e3, (time.process_time() - c0) * 1e3


def _measure(streams: dict[str, list[_Stepper]], steps: int, warmup: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms per step of each named group (a group of steppers is timed as their sum)."""
    for _ in range(warmup):
        for group in streams.values():
            for s in group:
                s.step_ms()
    wall: dict[str, list[float]] = {name: [] for name in streams}
    cpu: dict[str, list[float]] = {name: [] for name in streams}
    for _ in range(steps):  # interleaved, so drifting machine load hits every group alike
        for name, group in streams.items():
            times = [s.step_ms() for s in group]
            wall[name].append(sum(w for w, _ in times))
            cpu[name].append(sum(c for _, c in times))
    return {"wall": {n: statistics.median(t) for n, t in wall.items()},
            "cpu": {n: statistics.median(t) for n, t in cpu.items()}}


def _pick_basis(requested: str, device: torch.device, load: float) -> tuple[str, str]:
    """(basis, why)."""
    cores = os.cpu_count() or 1
    if requested != "auto":
        return requested, "requested"
    if device.type != "cpu":
        return "wall", f"device {device.type}"
    if load > cores:
        return "cpu", f"load average {load:.1f} > {cores} cores, wall time unreliable"
    return "wall", f"load average {load:.1f} <= {cores} cores"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2x", help="1x, 2x, 3x, tiny, or a .model file")
    ap.add_argument("--weights", default=None, help="VPT or STEVE-1 .weights file (default: random weights)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    ap.add_argument("--steps", type=int, default=30, help="timed batch-1 steps (median)")
    ap.add_argument("--steps-b8", type=int, default=10, help="timed batch-8 steps (median)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cond-scale", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: 1 when the load average exceeds the core count, "
                         "else torch's choice)")
    ap.add_argument("--basis", choices=("auto", "wall", "cpu"), default="auto",
                    help="headline timing: wall clock or process CPU time (auto: CPU time when overloaded)")
    ap.add_argument("--compile", choices=COMPILE_MODES, default=None,
                    help="torch.compile the guided step with this mode (default: eager)")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    elif args.device == "cpu" and os.getloadavg()[0] > (os.cpu_count() or 1):
        torch.set_num_threads(1)  # on a busy machine extra threads only wait for each other (2x slower)
    device = torch.device(args.device)
    policy = VPTPolicy(policy_config(args.size), goal_dim=GOAL_DIM)
    if args.weights:
        load_policy_weights(policy, args.weights, allow_missing_goal_layer=True)
    policy = policy.to(device=device, dtype=DTYPES[args.dtype]).eval()
    n_params = state_dict_numel(policy)
    guided_step = None if args.compile is None else compiled_guided_step(policy, args.compile)
    print(f"# size={args.size} device={device} dtype={args.dtype} threads={torch.get_num_threads()} "
          f"steps={args.steps}/{args.steps_b8} warmup={args.warmup} cond_scale={args.cond_scale} "
          f"compile={args.compile}", flush=True)

    def make(batch: int, guided: bool) -> _Stepper:
        return _Stepper(policy, batch, guided, args.cond_scale, device, guided_step)

    load_before = os.getloadavg()[0]
    b8 = _measure(
        {"unguided": [make(8, False)], "guided": [make(8, True)],
         "single": [make(1, True) for _ in range(8)], "cnn": [_CnnTimer(policy, 8, device)]},
        args.steps_b8, args.warmup,
    )
    b1 = _measure({"unguided": [make(1, False)], "guided": [make(1, True)]}, args.steps, args.warmup)
    load = max(load_before, os.getloadavg()[0])
    basis, why = _pick_basis(args.basis, device, load)
    t8, t1 = b8[basis], b1[basis]
    print(f"# batch=8 unguided_ms={t8['unguided']:.1f} guided_ms={t8['guided']:.1f} "
          f"eight_single_guided_ms={t8['single']:.1f}; batch=1 unguided_ms={t1['unguided']:.1f} "
          f"guided_ms={t1['guided']:.1f}; cnn_ms_8_frames={t8['cnn']:.1f} "
          f"cnn_cap={t8['single'] / t8['cnn']:.2f} ({basis} time)")
    print(f"batch=8 params={n_params} guided_over_unguided={t8['guided'] / t8['unguided']:.3f} "
          f"ms_per_step={t8['guided']:.1f} ms_per_world_step={t8['guided'] / 8:.1f} "
          f"eight_single_guided_ms={t8['single']:.1f} batched_speedup={t8['single'] / t8['guided']:.2f}")
    ratios = {k: b1[k]["guided"] / b1[k]["unguided"] for k in ("wall", "cpu")}
    print(f"# basis={basis} ({why}); batch=1 guided_over_unguided wall={ratios['wall']:.3f} "
          f"cpu={ratios['cpu']:.3f}; guided ms wall={b1['wall']['guided']:.1f} cpu={b1['cpu']['guided']:.1f}")
    print(f"params={n_params} guided_over_unguided={ratios[basis]:.3f} ms_per_step={t1['guided']:.1f}")


if __name__ == "__main__":
    main()
