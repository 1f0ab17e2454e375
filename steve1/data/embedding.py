"""Per-frame MineCLIP embeddings for episodes, computed in chunks.

An `EmbedFn` maps frames (N, H, W, 3) uint8 RGB to a list of N entries: None for the first 15, then (1, 512)
float32 arrays, entry t summarising frames t-15..t. `StreamingEmbedder` feeds an episode through one in
chunks, carrying the last 15 frames over so the result equals one call on the whole episode
with bounded memory.
"""
from __future__ import annotations

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
