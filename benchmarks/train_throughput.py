"""Training throughput: the trainer's frames/s on ready batches, its MFU, and the data loader's frames/s.

    python -m benchmarks.train_throughput --config tiny [--device cpu|cuda] [--episodes 6] [--length 1000]
                                          [--steps 40] [--batches 12] [--policy SIZE] [--batch-size N]
    python -m benchmarks.train_throughput --config 2x --device cuda   # the paper config (2x policy, bf16)

--config: a training config (tiny, small, paper, a .yaml) or a policy size (1x, 2x, 3x), which means the
paper config with that policy.

Episodes are synthetic (noisy flat-colour frames, random embeds, random env actions) written to a temporary
directory in the on-disk episode format (so the loader decodes mp4 video, unpickles and converts actions as in
real training, with no per-episode cache: the worst case). The trainer is timed on one ready batch (model
compute only; micro-steps do not sync with the host, the timer stops after a device sync). The loader must
be faster than the trainer or the GPU waits for data.

MFU = train_frames_per_s * model FLOPs per frame / peak FLOP/s. Model FLOPs are counted from the policy's
layer shapes (`steve1.vpt.flops`: convs, linears, attention products; forward + backward = 3x forward);
the peak is the device's dense bf16 tensor-core figure from a small table keyed by the CUDA device name. On
CPU, or a GPU the table lacks, mfu=nan and the line before the last says why.

Last line: `train_frames_per_s=<x> mfu=<y> loader_frames_per_s=<z>`.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from steve1.data.hindsight import HindsightConfig, HindsightDataset
from steve1.data.hindsight_sampler import ResumableBatchSampler
from steve1.data.hindsight_synthetic import synthetic_episodes
from steve1.training.config import load_config
from steve1.vpt.config import POLICY_SIZES, policy_config
from steve1.vpt.flops import peak_flops, train_flops_per_frame

GOAL_DIM = 512


def _random_env_actions(rng: np.random.Generator, n: int) -> list[dict]:
    from steve1.spaces import BUTTON_KEYS, noop_action

    actions = []
    for _ in range(n):
        a = noop_action()
        for key in BUTTON_KEYS:
            a[key] = int(rng.random() < 0.1)
        a["camera"] = rng.normal(0, 3, size=2)
        actions.append(a)
    return actions


def disk_episodes(root: Path, n: int, length: int) -> tuple[list[str], str]:
    """Write synthetic episodes in the on-disk format; returns (paths, description)."""
    from steve1.data.episode import save_episode

    rng = np.random.default_rng(0)
    paths = []
    for i, mem in enumerate(synthetic_episodes(n, length, seed=3)):
        frames = mem.frames(0, length) + rng.integers(0, 16, size=(length, 128, 128, 3), dtype=np.uint8)
        save_episode(root, f"bench_{i}", frames, _random_env_actions(rng, length), mem.embeds())
        paths.append(str(root / f"bench_{i}"))
    return paths, "mp4 episodes on disk"


def make_dataset(cfg, root: Path, n: int, length: int) -> tuple[HindsightDataset, str]:
    hcfg = HindsightConfig(seq_len=cfg.T, min_btwn_goals=cfg.min_btwn_goals,
                           max_btwn_goals=cfg.max_btwn_goals,
                           p_uncond=cfg.p_uncond)
    paths, what = disk_episodes(root, n, length)
    # cache_size=0: every item re-reads its episode's embeds and actions (worst case: many episodes)
    return HindsightDataset(paths, hcfg, seed=0, cache_size=0), what


def loader_rate(cfg, dataset: HindsightDataset, n_batches: int) -> float:
    sampler = ResumableBatchSampler(len(dataset), cfg.batch_size, seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.num_workers,
                                         prefetch_factor=4 if cfg.num_workers else None)
    frames, epoch = 0, 0
    it = iter(loader)
    next(it)  # worker start-up is not throughput
    t0 = time.perf_counter()
    while frames < n_batches * cfg.batch_size * cfg.T:
        try:
            batch = next(it)
        except StopIteration:
            epoch += 1
            sampler.set_position(epoch, 0)
            dataset.set_epoch(epoch)
            it = iter(loader)
            continue
        frames += batch["img"].shape[0] * batch["img"].shape[1]
    return frames / (time.perf_counter() - t0)


def _accelerator(cfg, device: torch.device):
    from accelerate import Accelerator

    mixed = cfg.mixed_precision if device.type == "cuda" else "no"  # CPU autocast would only add casts
    return Accelerator(cpu=device.type == "cpu", mixed_precision=mixed)


def train_rate(cfg, dataset: HindsightDataset, n_steps: int, tmp: Path, device: torch.device) -> float:
    from steve1.training.trainer import Trainer

    cfg = dataclasses.replace(cfg, checkpoint_dir=str(tmp / "ckpt"), out_weights=str(tmp / "w.weights"),
                              num_workers=0, progress_bar=False, resume=False, in_weights=None)
    trainer = Trainer(cfg, train_episodes=dataset._episodes, val_episodes=dataset._episodes,
                      action_encoder=dataset.action_encoder, accelerator=_accelerator(cfg, device))
    batch = trainer._to_device(next(iter(trainer._loader(trainer.train_set, trainer.train_sampler))))
    cpb = cfg.chunks_per_sequence
    for c in range(min(cpb, 2)):  # warm-up
        trainer.micro_step(batch, c)
    t0 = time.perf_counter()
    for i in range(n_steps):
        trainer.micro_step(batch, i % cpb)
    float(trainer._update_loss)  # waits for the last micro-step's work
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return n_steps * trainer.frames_per_step / (time.perf_counter() - t0)


def mfu(cfg, train_frames_per_s: float, device: torch.device) -> tuple[float, str]:
    """(model FLOPs utilisation, how it was computed)."""
    flops = train_flops_per_frame(policy_config(cfg.policy), GOAL_DIM, cfg.trunc_t)
    what = f"{flops / 1e9:.2f} GFLOP per training frame (3x forward)"
    if device.type != "cuda":
        return float("nan"), f"{what}; mfu=nan: no peak FLOP/s table for {device.type} devices"
    name = torch.cuda.get_device_name(device)
    peak = peak_flops(name)
    if peak is None:
        return float("nan"), f"{what}; mfu=nan: {name!r} is not in steve1.vpt.flops.PEAK_BF16_FLOPS"
    precision = "" if cfg.mixed_precision == "bf16" else f" (training runs {cfg.mixed_precision}, not bf16)"
    how = f"{what}; peak {peak / 1e12:.0f} TFLOP/s dense bf16 ({name}){precision}"
    return train_frames_per_s * flops / peak, how


def resolve_config(name: str, **overrides):
    """A training config name / path, or a policy size meaning the paper config with that policy."""
    if name in POLICY_SIZES:
        return load_config("paper", policy=name, **overrides)
    return load_config(name, **overrides)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=40, help="micro-steps timed for the trainer")
    parser.add_argument("--batches", type=int, default=12, help="batches timed for the loader")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--policy", default=None, help="override the config's policy size")
    parser.add_argument("--batch-size", type=int, default=None, help="override the config's batch size")
    parser.add_argument("--workers", type=int, default=None, help="override the config's loader workers")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in (("policy", args.policy), ("batch_size", args.batch_size),
                                   ("num_workers", args.workers)) if v is not None}
    cfg = resolve_config(args.config, **overrides)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        dataset, what = make_dataset(cfg, Path(tmp) / "episodes", args.episodes, args.length)
        print(f"config {args.config}: T={cfg.T} trunc_t={cfg.trunc_t} batch={cfg.batch_size} "
              f"policy={cfg.policy} "
              f"workers={cfg.num_workers}; {len(dataset)} sequences from {what}; "
              f"device {device}, mixed_precision {cfg.mixed_precision if device.type == 'cuda' else 'no'}, "
              f"torch threads {torch.get_num_threads()}", flush=True)
        loader = loader_rate(cfg, dataset, args.batches)
        train = train_rate(cfg, dataset, args.steps, Path(tmp), device)
    utilisation, how = mfu(cfg, train, device)
    print(f"# {how}")
    print(f"train_frames_per_s={train:.1f} mfu={utilisation:.4f} loader_frames_per_s={loader:.1f}")


if __name__ == "__main__":
    main()
