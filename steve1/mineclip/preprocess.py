"""Frames for MineCLIP as STEVE-1 prepares them: RGB (H, W, 3) uint8 -> cv2 INTER_LINEAR to 256x160 -> CHW."""
from __future__ import annotations

import numpy as np
import torch

from steve1.mineclip.config import IMAGE_HEIGHT, IMAGE_WIDTH
from steve1.utils.frames import resize_linear


def preprocess_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB frames of any size (MineRL: 360x640) -> (N, 3, 160, 256) uint8.

    Frames already 160x256 are not resized (as the original). Mean/std normalisation happens inside the model.
    """
    if isinstance(frames, torch.Tensor):
        frames = frames.cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            f"expected RGB frames of shape (N, H, W, 3), got {frames.shape}; "
            f"add a leading axis for a single frame (frame[None])"
        )
    if frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames with values 0..255, got {frames.dtype}")
    frames = resize_linear(frames, (IMAGE_HEIGHT, IMAGE_WIDTH))  # (N, 160, 256, 3)
    return torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2)))  # (N, 3, 160, 256)
