"""The MineCLIP embedding service: per-step episode embeddings from frames, text embeddings from prompts.

Episode layout (STEVE-1's `embeds_attn.pkl`): entry t is the embedding of frames t-15 .. t, shape (1, 512)
float32, and entries 0..14 are None. The original encodes every 16-frame window from scratch (each frame 16
times); here each frame goes through the image tower once, and the windows are pooled from those cached
per-frame features, batched. The numbers are the same up to float rounding (the image tower treats frames
independently).
"""
from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from steve1.mineclip.config import VIDEO_FRAMES
from steve1.mineclip.model import MineCLIP
from steve1.mineclip.preprocess import preprocess_frames
from steve1.mineclip.tokenizer import tokenize
from steve1.utils.video import read_video_chunks

_POOL_BATCH = 256  # windows per temporal-pooling call (the pooling transformer is small)


class MineClipEmbedder:
    """Embeds frames and prompts with a loaded MineCLIP on `device`.

    dtype: torch.float32 runs the model as it is; torch.bfloat16 / torch.float16 run it under autocast (as
    STEVE-1 does on GPU with fp16). Results are always float32 numpy arrays.
    batch_size: frames per image-tower call.
    """

    def __init__(
        self,
        model: MineCLIP,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        batch_size: int = 32,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
        self.device = torch.device(device) if device is not None else model.device
        self.model = model.to(self.device).eval()
        self.dtype = dtype
        self.batch_size = batch_size

    @property
    def embed_dim(self) -> int:
        return self.model.config.embed_dim

    def _precision(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    # ---- text ---------------------------------------------------------------------------------------
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """(B, D) float32 text embeddings; empty or whitespace-only prompts are refused."""
        if isinstance(texts, str):
            texts = [texts]
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"prompts must be str, got {type(text).__name__}")
            if not text.strip():
                raise ValueError("empty or whitespace-only prompt: give an instruction such as 'chop a tree'")
        if not texts:
            raise ValueError("no prompts given")
        ids = tokenize(list(texts)).to(self.device)
        with torch.inference_mode(), self._precision():
            return self.model.encode_text(ids).float().cpu().numpy()

    def embed_text(self, text: str) -> np.ndarray:
        """(1, D) float32 embedding of one prompt (what the prior takes)."""
        if not isinstance(text, str):
            raise TypeError(f"embed_text takes one str, got {type(text).__name__}; use embed_texts for lists")
        return self.embed_texts([text])

    # ---- frames -------------------------------------------------------------------------------------
    def _features_of_chunks(self, chunks: Iterable[np.ndarray]) -> torch.Tensor:
        """Per-frame image features (N, D) float32 on device from chunks of (n, H, W, 3) uint8 RGB frames."""
        out = []
        with torch.inference_mode(), self._precision():
            for chunk in chunks:
                frames = preprocess_frames(chunk)  # (n, 3, 160, 256) uint8
                for start in range(0, frames.shape[0], self.batch_size):
                    batch = frames[start : start + self.batch_size].to(self.device, non_blocking=True)
                    out.append(self.model.forward_image_features(batch).float())  # (b, D)
        if not out:
            return torch.empty(0, self.embed_dim, device=self.device)
        return torch.cat(out)

    def frame_features(self, frames: np.ndarray) -> torch.Tensor:
        """(N, H, W, 3) uint8 RGB -> (N, D) float32 per-frame image features (each frame encoded once)."""
        frames = np.asarray(frames)
        step = self.batch_size * 8  # resize a bounded number of frames at a time
        return self._features_of_chunks(frames[i : i + step] for i in range(0, max(len(frames), 1), step))

    def pool_windows(self, features: torch.Tensor) -> torch.Tensor:
        """(N, D) per-frame features -> (N - 15, D) float32: row i pools frames i .. i+15."""
        n = features.shape[0]
        if n < VIDEO_FRAMES:
            raise ValueError(f"need at least {VIDEO_FRAMES} frames for one window, got {n}")
        windows = features.unfold(0, VIDEO_FRAMES, 1).transpose(1, 2)  # (N-15, 16, D), a view
        out = []
        with torch.inference_mode(), self._precision():
            for start in range(0, windows.shape[0], _POOL_BATCH):
                out.append(self.model.forward_video_features(windows[start : start + _POOL_BATCH]).float())
        return torch.cat(out)

    def embed_windows(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB, N >= 16 -> (N - 15, D) float32; row i = frames i .. i+15."""
        return self.pool_windows(self.frame_features(frames)).cpu().numpy()

    @staticmethod
    def _episode_layout(window_embeds: np.ndarray, n_frames: int) -> list[np.ndarray | None]:
        return [None] * min(n_frames, VIDEO_FRAMES - 1) + [e[None] for e in window_embeds]

    def embed_frames(self, frames: np.ndarray) -> list[np.ndarray | None]:
        """Per-step embeddings, length N: entries 0..14 None, entry t (1, D) float32 for frames t-15 .. t.

        With fewer than 16 frames no window is complete, so every entry is None.
        """
        frames = np.asarray(frames)
        if len(frames) < VIDEO_FRAMES:
            preprocess_frames(frames)  # still validate shape and dtype
            return [None] * len(frames)
        return self._episode_layout(self.embed_windows(frames), len(frames))

    def embed_video_file(self, path: str | Path) -> list[np.ndarray | None]:
        """`embed_frames` of a video file decoded with OpenCV (BGR -> RGB), read in chunks.

        STEVE-1 embedded the raw 640x360 observations; an episode's stored `frames.mp4` is 128x128 and lossy,
        so re-embedding it gives other numbers than its `embeds_attn.pkl`.
        """
        features = self._features_of_chunks(read_video_chunks(path, self.batch_size, allow_empty=False))
        n = features.shape[0]
        if n < VIDEO_FRAMES:
            return [None] * n
        return self._episode_layout(self.pool_windows(features).cpu().numpy(), n)

    def embed_episode_dir(self, episode_dir: str | Path) -> list[np.ndarray | None]:
        """`embed_video_file` of an episode directory's `frames.mp4` (see its note on frame size)."""
        path = Path(episode_dir) / "frames.mp4"
        if not path.is_file():
            raise FileNotFoundError(f"{episode_dir} has no frames.mp4: not a STEVE-1 episode directory")
        return self.embed_video_file(path)

    def stream(self) -> FrameStream:
        """A per-step embedder for a running episode (one frame in, that step's embedding out)."""
        return FrameStream(self)


class FrameStream:
    """Push frames one at a time; each push returns the embedding of the last 16 frames, or None before 16."""

    def __init__(self, embedder: MineClipEmbedder):
        self.embedder = embedder
        self._features: deque[torch.Tensor] = deque(maxlen=VIDEO_FRAMES)

    def reset(self) -> None:
        self._features.clear()

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (1, D) float32 once 16 frames have been pushed, else None."""
        frame = np.asarray(frame)
        if frame.ndim != 3:
            raise ValueError(f"push takes one (H, W, 3) frame, got shape {frame.shape}")
        self._features.append(self.embedder.frame_features(frame[None])[0])
        if len(self._features) < VIDEO_FRAMES:
            return None
        return self.embedder.pool_windows(torch.stack(list(self._features))).cpu().numpy()
