"""Prior sampling / training speed and programmatic-metric update cost on this machine's CPU.

`python -m benchmarks.prior_eval [--device cuda]`; the last line holds the figures.
"""
from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from steve1.eval.metrics import ProgrammaticMetrics
from steve1.prior.model import TranslatorVAE
from steve1.prior.train import PriorTrainConfig, train_prior

N_PAIRS = 10_000  # the released data.pkl holds about 10k pairs (paper: ~2k instructions, LLM-augmented)
N_ITEMS = 976  # MineRL's inventory dict size


def _best_of(fn, repeats: int, device: torch.device | None = None) -> float:
    """Best wall time of fn over repeats (waiting for device's queued kernels when it is a GPU)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="torch device of the prior (cpu, cuda)")
    device = torch.device(ap.parse_args(argv).device)
    torch.manual_seed(0)
    model = TranslatorVAE().to(device).eval()
    one, batch = torch.randn(1, 512, device=device), torch.randn(256, 512, device=device)
    with torch.no_grad():
        sample_1_ms = 1e3 * _best_of(lambda: model.sample(one), 50, device)
        sample_256_ms = 1e3 * _best_of(lambda: model.sample(batch), 10, device)

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        data = Path(d) / "data.pkl"
        pairs = rng.standard_normal((2, N_PAIRS, 1, 512), np.float32)  # released layout: (1, 512) per row
        layout = {"text_embeddings": list(pairs[0]), "visual_embeddings": list(pairs[1])}
        data.write_bytes(pickle.dumps(layout))
        cfg = PriorTrainConfig(data_path=str(data), output_path=str(Path(d) / "out.pt"), n_epochs=1,
                               device=str(device))
        t0 = time.perf_counter()
        train_prior(cfg)
        epoch_s = time.perf_counter() - t0

    items = [f"item_{i}" for i in range(N_ITEMS - 4)] + ["oak_log", "dirt", "wheat_seeds", "birch_log"]
    obs = [{"inventory": dict.fromkeys(items, 1), "location_stats": {"xpos": 1.0, "zpos": 2.0}}
           for _ in range(8)]
    metrics = ProgrammaticMetrics(obs)
    metrics.update(obs)  # warm the item-name cache
    update_us = 1e6 * _best_of(lambda: metrics.update(obs), 20) / len(obs)

    print(f"prior sample: {sample_1_ms:.2f} ms (B=1), {sample_256_ms:.2f} ms (B=256); train: {epoch_s:.1f} s "
          f"per epoch of {N_PAIRS} pairs (batch 256, fp32, {device.type}, CPU {torch.get_num_threads()} "
          f"threads); metrics update: {update_us:.0f} us per world-step ({N_ITEMS}-item inventory)")


if __name__ == "__main__":
    main()
