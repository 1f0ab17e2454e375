"""How a video is cut into IDM windows and which predictions of each window are kept.

The IDM sees one window at a time (its attention is non-causal over the window and carries no memory), so
a frame's label depends on where the windows lie. Policy (MineStudio's `label_action_idm`,
generalised to any window W and stride S, margin m = (W - S) / 2):

    windows start at 0, S, 2S, ... ; each is [s, min(s + W, N)); every full window (s + W <= N) is run,
    and the last window is the first one that is not full (s + W > N), shorter, ending at the video's end.
    first window keeps [0, m + S)    (its leading m frames have no better-placed window)
    a full window keeps [s + m, s + m + S)   (the middle S frames: m frames of context on both sides)
    the last window keeps [s + m, N)          (when it is also the first: [0, N))

The kept ranges tile [0, N) exactly, so there is one label per frame. Defaults W = 128, S = 64 (m = 32), as
MineStudio. W = S (m = 0) gives the VPT demo's non-overlapping chunks. An empty last window (N a multiple
of S when m = 0) is not run.

`StreamingLabeller` applies this policy to frames pushed in chunks of any size, holding at most
W + (batch - 1) * S frames, and runs `batch` full windows per model call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

PredictFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(B, T, S, S, 3) uint8 windows -> buttons (B, T, 20) and camera bins (B, T, 2) integer arrays."""


@dataclass(frozen=True)
class WindowPolicy:
    window: int = 128
    stride: int = 64

    def __post_init__(self) -> None:
        if not 1 <= self.stride <= self.window:
            raise ValueError(f"stride must be in 1..window ({self.window}), got {self.stride}")
        if (self.window - self.stride) % 2:
            raise ValueError(
                f"window - stride must be even (same context each side), got {self.window} - {self.stride}"
            )

    @property
    def margin(self) -> int:
        return (self.window - self.stride) // 2

    def keep(self, start: int, n_frames: int | None) -> tuple[int, int]:
        """Kept [lo, hi) of the window at `start`; n_frames None for a full, non-last window."""
        lo = 0 if start == 0 else start + self.margin
        hi = start + self.margin + self.stride if n_frames is None else n_frames
        return lo, hi


DEFAULT_POLICY = WindowPolicy()  # 128-frame windows, stride 64, the middle 64 kept


def plan_windows(n_frames: int, policy: WindowPolicy = DEFAULT_POLICY) -> list[tuple[int, int, int, int]]:
    """(start, end, keep_lo, keep_hi) of every window run on a video of n_frames frames, in order."""
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    plan = []
    s = 0
    while s + policy.window <= n_frames:
        plan.append((s, s + policy.window, *policy.keep(s, None)))
        s += policy.stride
    if s < n_frames:
        plan.append((s, n_frames, *policy.keep(s, n_frames)))
    return plan


class StreamingLabeller:
    """Push frames (n, S, S, 3) as they are decoded; get back the labels that became final, in order."""

    def __init__(self, predict: PredictFn, policy: WindowPolicy = DEFAULT_POLICY, batch_windows: int = 1):
        if batch_windows < 1:
            raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
        self.predict, self.policy, self.batch_windows = predict, policy, batch_windows
        self._chunks: list[np.ndarray] = []  # frames from self._start on, not yet concatenated
        self._start = 0  # absolute index of the first buffered frame = start of the next window
        self._n = 0  # frames pushed so far
        self._labelled = 0  # frames whose labels were returned
        self._finished = False

    def _buffer(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0]

    def _run_full_windows(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Run `count` full windows from self._start in one call; keep their slices; drop consumed frames."""
        W, S = self.policy.window, self.policy.stride
        buf = self._buffer()
        starts = [self._start + i * S for i in range(count)]
        windows = np.stack([buf[s - self._start : s - self._start + W] for s in starts])  # (B, W, S, S, 3)
        buttons, camera = self.predict(windows)  # (B, W, 20), (B, W, 2)
        keep_b, keep_c = [], []
        for i, s in enumerate(starts):
            lo, hi = self.policy.keep(s, None)
            keep_b.append(buttons[i, lo - s : hi - s])
            keep_c.append(camera[i, lo - s : hi - s])
        self._start = starts[-1] + S
        self._chunks = [buf[self._start - (starts[0]) :]]
        return np.concatenate(keep_b), np.concatenate(keep_c)

    def _full_windows_ready(self) -> int:
        W, S = self.policy.window, self.policy.stride
        available = self._n - self._start
        return 0 if available < W else (available - W) // S + 1

    def _emit(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        if not parts:
            return np.zeros((0, 20), np.int64), np.zeros((0, 2), np.int64)
        buttons = np.concatenate([b for b, _ in parts])
        camera = np.concatenate([c for _, c in parts])
        self._labelled += len(buttons)
        return buttons, camera

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """frames (n, S, S, 3) uint8 -> labels of frames now final: buttons (k, 20), camera bins (k, 2)."""
        if self._finished:
            raise RuntimeError("push after finish: start a new StreamingLabeller for the next video")
        if len(frames):
            self._chunks.append(np.asarray(frames))
            self._n += len(frames)
        parts = []
        while self._full_windows_ready() >= self.batch_windows:
            parts.append(self._run_full_windows(self.batch_windows))
        return self._emit(parts)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Run the remaining windows (full ones, then the short last one); returns their kept labels."""
        if self._finished:
            raise RuntimeError("finish called twice")
        self._finished = True
        parts = []
        ready = self._full_windows_ready()
        if ready:
            parts.append(self._run_full_windows(ready))
        if self._start < self._n:  # the last, shorter window
            last = self._buffer()[: self._n - self._start]
            buttons, camera = self.predict(last[None])  # (1, t, 20), (1, t, 2)
            lo, hi = self.policy.keep(self._start, self._n)
            parts.append((buttons[0, lo - self._start :], camera[0, lo - self._start :]))
        out = self._emit(parts)
        if self._labelled != self._n:  # the kept slices must tile the video
            raise AssertionError(f"labelled {self._labelled} frames of {self._n}")
        self._chunks = []
        return out
