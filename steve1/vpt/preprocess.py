"""Frames from the game -> the policy's 128x128 input, as VPT's agent (`cv2.resize`, INTER_LINEAR).

cv2's fixed-point bilinear on uint8 differs from torch/PIL resizing by about one level, so OpenCV is used
for parity. The aspect ratio is not preserved (640x360 -> 128x128), as the reference. Frames already
128x128 pass unchanged.
"""
from __future__ import annotations

import numpy as np

from steve1.utils.frames import resize_linear
from steve1.vpt.config import IMG_SIZE


def resize_pov(frames: np.ndarray) -> np.ndarray:
    """(..., H, W, 3) uint8 RGB -> (..., 128, 128, 3) uint8."""
    if not isinstance(frames, np.ndarray):
        raise TypeError(f"frames must be a numpy array (..., H, W, 3) uint8, got {type(frames).__name__}")
    if frames.ndim < 3 or frames.shape[-1] != 3:
        raise ValueError(f"frames have shape {frames.shape}; expected (..., H, W, 3) RGB")
    if frames.dtype != np.uint8:
        raise TypeError(f"frames have dtype {frames.dtype}; expected uint8 (0..255 RGB)")
    if frames.shape[-3] < 1 or frames.shape[-2] < 1:
        raise ValueError(f"frames have shape {frames.shape}: empty image")
    return resize_linear(frames, (IMG_SIZE, IMG_SIZE))
