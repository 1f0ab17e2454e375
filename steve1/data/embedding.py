"""Per-frame MineCLIP embeddings for episodes, computed in chunks.

An `EmbedFn` maps frames (N, H, W, 3) uint8 RGB to a list of N entries: None for the first 15, then (1, 512)
float32 arrays, entry t summarising frames t-15..t. `StreamingEmbedder` feeds an episode through one in
chunks, carrying the last 15 frames over so the result equals one call on the whole episode
with bounded memory. `EmbeddingWorker` runs that work (and whatever must follow it, such as writing the
episode) on one background thread, so that real-time worlds keep stepping while MineCLIP runs.
"""
from __future__ import annotations

import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from steve1 import paths
from steve1.data.episode import NUM_EMPTY_EMBEDS

CHUNK_FRAMES = 512  # frames decoded/embedded per chunk by the data tools (~60 MB of MineCLIP frames)

EmbedFn = Callable[[np.ndarray], list]
MINECLIP_FRAME_HW = (160, 256)  # MineCLIP input resolution (H, W)
EMBED_CONFIGS = ("attn", "tiny", "fake")  # `--mineclip` names of the data tools (else: a path of ours)
_DTYPES = ("float32", "float16", "bfloat16")


class StreamingEmbedder:
    """`push(frames)` returns the embeddings of exactly those frames, using the previous 15 as context."""

    def __init__(self, embed_fn: EmbedFn):
        self.embed_fn = embed_fn
        self._tail: np.ndarray | None = None  # (<=15, H, W, 3)

    def push(self, frames: np.ndarray) -> list:
        if len(frames) == 0:
            return []
        ctx = frames if self._tail is None else np.concatenate([self._tail, frames])
        out = list(self.embed_fn(ctx))
        if len(out) != len(ctx):
            raise ValueError(f"embed_fn returned {len(out)} entries for {len(ctx)} frames")
        skip = 0 if self._tail is None else len(self._tail)
        self._tail = ctx[-NUM_EMPTY_EMBEDS:].copy()
        return out[skip:]


class EmbeddingWorker:
    """Runs submitted calls one at a time, in submission order, on a background thread (or at once, in the
    caller's thread, with background=False).

    Calls that belong together (one episode's chunks, then its writing) stay in order because there is one
    thread. At most `max_pending` calls wait; `submit` then blocks until the oldest is done, which bounds the
    frames held in memory. An error in a call is raised in the caller by a later `submit`, `drain` or `close`.
    The thread uses the torch CPU threads of the thread that made the worker.
    """

    def __init__(self, background: bool = True, max_pending: int = 8):
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.max_pending = max_pending
        self._pending: deque[Future] = deque()
        self._pool = None
        if background:
            torch = sys.modules.get("torch")  # only when the caller uses torch (not for fake embeddings)
            threads = torch.get_num_threads() if torch is not None else None
            self._pool = ThreadPoolExecutor(1, "steve1-embedding", initializer=_set_torch_threads,
                                            initargs=(threads,))

    def submit(self, fn: Callable, *args) -> Future:
        if self._pool is None:
            future: Future = Future()
            future.set_result(fn(*args))
            return future
        while self._pending and (self._pending[0].done() or len(self._pending) >= self.max_pending):
            self._pending.popleft().result()  # (raises the call's error here)
        future = self._pool.submit(fn, *args)
        self._pending.append(future)
        return future

    def drain(self) -> None:
        """Wait until every submitted call is done (raising the first error)."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Finish every submitted call, stop the thread, then raise the first error, if any."""
        try:
            self.drain()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pending.clear()


def _set_torch_threads(threads: int | None) -> None:
    if threads is not None:
        sys.modules["torch"].set_num_threads(threads)


def fake_embed_fn(frames: np.ndarray) -> list:
    """Deterministic stand-in for tests and dry runs: mean colour of the 16-frame window, tiled to 512."""
    frames = np.asarray(frames)
    means = frames[:, ::8, ::8].reshape(len(frames), -1, 3).mean(axis=1)  # (N, 3)
    out: list = [None] * min(NUM_EMPTY_EMBEDS, len(frames))
    for t in range(NUM_EMPTY_EMBEDS, len(frames)):
        window = means[t - NUM_EMPTY_EMBEDS : t + 1].mean(axis=0)  # (3,)
        out.append(np.resize(window.astype(np.float32), (1, 512)))
    return out


def default_device() -> str:
    """'cuda' when a GPU is usable, else 'cpu'."""
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def make_mineclip_embed_fn(
    weights: str | Path | None = None, config: str = "attn", device: str = "cpu", batch_size: int = 32,
    dtype: str = "auto",
) -> EmbedFn:
    """The real embedder (`steve1.mineclip`, imported lazily). Frames may be 640x360 or already 256x160.

    config 'attn': the released `attn.pth` (md5-checked). config 'tiny': MineCLIP's tiny test widths with a
    512-d output and random weights (seeded), for smoke runs and benchmarks only: its embeddings mean nothing.
    Any other config is the path of a MineCLIP checkpoint of ours (`steve1 train-mineclip`); weights ignored.
    dtype 'auto': float16 autocast on CUDA (as the original's `torch.cuda.amp.autocast()`), float32 on CPU.
    """

    import torch

    from steve1.mineclip import MineClipEmbedder, load_mineclip, random_mineclip

    if dtype == "auto":
        torch_dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
    elif dtype in _DTYPES:
        torch_dtype = getattr(torch, dtype)
    else:
        raise ValueError(f"unknown MineCLIP dtype {dtype!r}: use auto, {', '.join(_DTYPES)}")
    if config == "tiny":
        model = random_mineclip("tiny", seed=0)
    elif config not in EMBED_CONFIGS:
        model = load_mineclip(config, device="cpu")  # ours: sizes from its sidecar
    else:
        model = load_mineclip(weights or paths.MINECLIP_WEIGHTS, config=config, device="cpu")
    embedder = MineClipEmbedder(model, device=device, dtype=torch_dtype, batch_size=batch_size)
    return embedder.embed_frames


def embed_fn_for(
    config: str, weights: str | Path | None = None, device: str = "cpu", batch_size: int = 32,
    dtype: str = "auto",
) -> EmbedFn:
    """The embedder a data tool's `--mineclip_config` names: "attn" (the released weights, default path
    `paths.MINECLIP_WEIGHTS`), "tiny" (random small MineCLIP, weights ignored), "fake" (`fake_embed_fn`),
    "minetest" (the MineCLIP this package ships) or the path of a MineCLIP checkpoint of ours."""
    if config not in EMBED_CONFIGS and config != paths.SHIPPED_NAME and not Path(config).is_file():
        raise ValueError(f"unknown mineclip config {config!r}: use {', '.join(EMBED_CONFIGS)}, "
                         f"{paths.SHIPPED_NAME} (the shipped MineCLIP) or the path of a checkpoint "
                         f"(steve1 train-mineclip)")
    if config == "fake":
        return fake_embed_fn
    return make_mineclip_embed_fn(None if config == "tiny" else weights, config, device, batch_size, dtype)
