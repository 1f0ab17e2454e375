"""How many CPU threads torch gets when the same cores also run the games' worlds."""
from __future__ import annotations

# On cores the games share, more torch threads only wait for each other (a thread that holds a barrier is
# descheduled for a game): with 2 worlds on 2 busy cores, 1 thread embedded ~6x faster than 2, and the
# steerability agent stepped 4 Minetest worlds ~8x faster with 1 thread than with 2 (BENCHMARKS.md).
WORLD_TORCH_THREADS = 1


def set_torch_threads(n: int) -> None:
    """torch.set_num_threads(n) for n >= 1; 0 keeps torch's default (all cores)."""
    if n < 0:
        raise ValueError(f"threads must be >= 0, got {n}")
    if n:
        import torch

        torch.set_num_threads(n)
