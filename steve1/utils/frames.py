"""Frame resizing shared by the policy, the IDM, MineCLIP and the data tools: cv2 INTER_LINEAR, as VPT and
STEVE-1 resize (cv2's fixed-point bilinear on uint8 differs from torch/PIL by about one level, so OpenCV is
used for parity). The aspect ratio is not kept (640x360 -> 128x128)."""
from __future__ import annotations

import cv2
import numpy as np


def resize_linear(frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(..., H, W, 3) uint8 RGB -> (..., h, w, 3) uint8, `hw` = (h, w); frames already that size are returned
    as is (not copied). Callers check shape and dtype; this only resizes."""
    h, w = hw
    if frames.shape[-3:-1] == (h, w):
        return frames
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])  # (N, H, W, 3)
    out = np.empty((flat.shape[0], h, w, 3), dtype=np.uint8)  # (N, h, w, 3)
    for i, frame in enumerate(flat):  # cv2 resizes one image at a time
        cv2.resize(np.ascontiguousarray(frame), (w, h), dst=out[i], interpolation=cv2.INTER_LINEAR)
    return out.reshape(*lead, h, w, 3)
