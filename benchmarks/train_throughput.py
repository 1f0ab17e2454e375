"""Training throughput: the trainer's frames/s on ready batches vs the data loader's frames/s.

    python -m benchmarks.train_throughput --config tiny [--episodes 6] [--length 1000] [--steps 40]

Episodes are synthetic (noisy flat-colour frames, random embeds, random env actions) written to a temporary
directory in the on-disk episode format (so the loader decodes mp4 video, unpickles and converts actions as in
real training, with no per-episode cache: the worst case). The trainer is timed on one ready batch (model
compute only). The last line is `train_frames_per_s=<x> loader_frames_per_s=<y>`; the loader must be faster
than the trainer or the GPU waits for data.
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


def train_rate(cfg, dataset: HindsightDataset, n_steps: int, tmp: Path) -> float:
    from steve1.training.trainer import Trainer

    cfg = dataclasses.replace(cfg, checkpoint_dir=str(tmp / "ckpt"), out_weights=str(tmp / "w.weights"),
                              num_workers=0, progress_bar=False, resume=False, in_weights=None)
    trainer = Trainer(cfg, train_episodes=dataset._episodes, val_episodes=dataset._episodes,
                      action_encoder=dataset.action_encoder)
    batch = trainer._to_device(next(iter(trainer._loader(trainer.train_set, trainer.train_sampler))))
    cpb = cfg.chunks_per_sequence
    for c in range(min(cpb, 2)):  # warm-up
        trainer.micro_step(batch, c)
    t0 = time.perf_counter()
    for i in range(n_steps):
        trainer.micro_step(batch, i % cpb)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return n_steps * trainer.frames_per_step / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=40, help="micro-steps timed for the trainer")
    parser.add_argument("--batches", type=int, default=12, help="batches timed for the loader")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        dataset, what = make_dataset(cfg, Path(tmp) / "episodes", args.episodes, args.length)
        print(f"config {args.config}: T={cfg.T} trunc_t={cfg.trunc_t} batch={cfg.batch_size} "
              f"policy={cfg.policy} "
              f"workers={cfg.num_workers}; {len(dataset)} sequences from {what}; "
              f"device {'cuda' if torch.cuda.is_available() else 'cpu'}, "
              f"torch threads {torch.get_num_threads()}")
        loader = loader_rate(cfg, dataset, args.batches)
        train = train_rate(cfg, dataset, args.steps, Path(tmp))
    print(f"train_frames_per_s={train:.1f} loader_frames_per_s={loader:.1f}")


if __name__ == "__main__":
    main()
