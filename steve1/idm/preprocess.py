"""Frames of any size -> the IDM's S x S RGB input, as VPT's `IDMAgent` (cv2 INTER_LINEAR, no aspect)."""

from __future__ import annotations

import numpy as np

from steve1.utils.frames import resize_linear


def resize_frames(frames: np.ndarray, size: int = 128) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB -> (N, size, size, 3) uint8; frames already that size are returned as is."""
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"frames must be a numpy array (N, H, W, 3) uint8, got {type(frames).__name__}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[1] < 1 or frames.shape[2] < 1:
        raise ValueError(f"frames have shape {frames.shape}; expected (N, H, W, 3) RGB")
    if frames.dtype != np.uint8:
        raise TypeError(f"frames have dtype {frames.dtype}; expected uint8 (0..255 RGB)")
    return resize_linear(frames, (size, size))  # (N, size, size, 3)
