"""Small in-memory episodes for tests and benchmarks of the hindsight dataset and the trainer.

Each step's frame is a flat colour; its action is a function of that colour (so a policy can learn it) and its
MineCLIP-like embedding is random. Actions are stored already encoded as `{"buttons": int, "camera": int}`;
pass `encoded_actions` as the dataset's `action_encoder`.
"""
from __future__ import annotations

import numpy as np

from steve1.data.hindsight import EMBED_DIM, N_STEPS_WITHOUT_EMBED

N_COLOURS = 8


class InMemoryEpisode:
    """An episode with the `Episode` reading interface, generated from a seed."""

    def __init__(self, length: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.length = length
        self.colour_index = rng.integers(0, N_COLOURS, size=length)  # (L,)
        self.palette = rng.integers(0, 256, size=(N_COLOURS, 3), dtype=np.uint8)  # (8, 3)
        self._buttons = (self.colour_index * 7).astype(np.int64)  # learnable from the frame
        self._camera = (60 + self.colour_index - N_COLOURS // 2).astype(np.int64)
        embeds = rng.standard_normal((length, 1, EMBED_DIM)).astype(np.float32)
        self._embeds = [None] * N_STEPS_WITHOUT_EMBED + list(embeds[N_STEPS_WITHOUT_EMBED:])

    def __len__(self) -> int:
        return self.length

    def frames(self, start: int, end: int) -> np.ndarray:
        if not 0 <= start <= end <= self.length:
            raise IndexError(f"frames({start}, {end}) outside episode of length {self.length}")
        colours = self.palette[self.colour_index[start:end]]  # (n, 3)
        return np.broadcast_to(colours[:, None, None, :], (end - start, 128, 128, 3)).copy()

    def actions(self) -> list[dict]:
        pairs = zip(self._buttons, self._camera, strict=True)
        return [{"buttons": int(b), "camera": int(c)} for b, c in pairs]

    def embeds(self) -> list:
        return self._embeds


def encoded_actions(actions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Action encoder for `InMemoryEpisode`: its actions already hold the agent's class indices."""
    buttons = np.fromiter((a["buttons"] for a in actions), dtype=np.int64, count=len(actions))
    camera = np.fromiter((a["camera"] for a in actions), dtype=np.int64, count=len(actions))
    return buttons, camera


def synthetic_episodes(n: int, length: int, seed: int = 0) -> list[InMemoryEpisode]:
    return [InMemoryEpisode(length, seed=seed * 10_007 + i) for i in range(n)]
