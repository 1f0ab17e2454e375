"""Decoding video files with OpenCV, shared by the runners, MineCLIP and IDM labelling: RGB frames in
chunks (bounded memory), optional frame-rate resampling, clear errors for missing, corrupt or empty files."""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


class VideoError(ValueError):
    """A video could not be written or read (cannot be opened, no frames, wrong frame shape)."""


def keep_frame(i: int, source_fps: float, target_fps: float | None) -> bool:
    """Whether decoded frame i is kept when resampling source_fps down to target_fps (None: keep all)."""
    if not target_fps or not source_fps or target_fps >= source_fps:
        return True
    ratio = target_fps / source_fps
    return i == 0 or math.floor(i * ratio + 1e-9) > math.floor((i - 1) * ratio + 1e-9)


def read_video_chunks(
    path: str | Path, chunk: int = 64, target_fps: float | None = None, allow_empty: bool = True
) -> Iterator[np.ndarray]:
    """(n <= chunk, H, W, 3) uint8 RGB chunks of a video (BGR -> RGB), optionally resampled to target_fps.

    A missing file is FileNotFoundError; one OpenCV cannot open, or (allow_empty=False) one without a
    decodable frame, is VideoError.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: cannot open the video (corrupt, or a format OpenCV cannot decode)")
    source_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    try:
        frames: list[np.ndarray] = []
        total, i = 0, -1
        while True:
            i += 1
            if not keep_frame(i, source_fps, target_fps):
                if not cap.grab():
                    break
                continue
            ok, bgr = cap.read()
            if not ok:
                break
            if bgr.ndim != 3 or bgr.shape[2] != 3:
                raise VideoError(f"{path}: frames have shape {bgr.shape}, expected (H, W, 3)")
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            total += 1
            if len(frames) == chunk:
                yield np.stack(frames)
                frames = []
        if frames:
            yield np.stack(frames)
        if total == 0 and not allow_empty:
            raise VideoError(f"{path} holds no decodable frames (corrupt or truncated video)")
    finally:
        cap.release()
