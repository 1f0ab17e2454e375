"""A resumable, sharded batch sampler for the hindsight dataset.

Each epoch is a permutation of the dataset drawn from `(seed, epoch)`; it is cut into global batches of
`batch_size * num_processes` items (incomplete last batch dropped) and process `rank` takes its slice.
The position is just `(epoch, batch_in_epoch)`, so a resumed run continues with exactly the next batch
(unlike `accelerate.skip_first_batches`, which the original also kept for every later epoch).
"""
from __future__ import annotations

from collections.abc import Iterator

import torch


class ResumableBatchSampler(torch.utils.data.Sampler[list[int]]):
    def __init__(
        self,
        n_items: int,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        num_processes: int = 1,
        what: str = "training",
    ):
        global_batch = batch_size * num_processes
        if n_items < global_batch:
            raise ValueError(
                f"the {what} set has {n_items} sequences, fewer than one batch of {global_batch} "
                f"(batch_size {batch_size} x {num_processes} processes): add episodes, lower batch_size or T"
            )
        self.n_items, self.batch_size, self.seed, self.shuffle = n_items, batch_size, seed, shuffle
        self.rank, self.num_processes = rank, num_processes
        self.epoch = 0
        self.start_batch = 0  # first batch of the current epoch to yield (resume)

    @property
    def batches_per_epoch(self) -> int:
        return self.n_items // (self.batch_size * self.num_processes)

    def set_position(self, epoch: int, batch_in_epoch: int) -> None:
        self.epoch, self.start_batch = int(epoch), int(batch_in_epoch)

    def order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n_items)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(self.n_items, generator=g)

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order()
        global_batch = self.batch_size * self.num_processes
        for b in range(self.start_batch, self.batches_per_epoch):
            lo = b * global_batch + self.rank * self.batch_size
            yield order[lo : lo + self.batch_size].tolist()
