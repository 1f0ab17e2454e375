"""An mp4 written frame by frame under a temporary name and renamed into place only when finished.

Long episodes (3,000 steps) are streamed to disk instead of held in memory; a crashed or retried episode
leaves no file behind (`discard`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from steve1.eval.video import FOURCC, VideoError, overlay_text


class VideoStream:
    """`write(frame_rgb, text)` per frame, then `finish()` (rename into place) or `discard()`."""

    def __init__(self, path: str | Path, fps: float):
        self.path = Path(path)
        self.fps = float(fps)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        name = f".{self.path.name}.tmp-{os.getpid()}-{next(tempfile._get_candidate_names())}.mp4"
        self.tmp = self.path.with_name(name)
        self._writer: cv2.VideoWriter | None = None
        self._shape: tuple | None = None
        self.n_frames = 0

    def write(self, frame: np.ndarray, text: str | None = None) -> None:
        """One (H, W, 3) uint8 RGB frame; `text` is drawn at the top when given."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise VideoError(f"frames must be (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}")
        if self._writer is None:
            self._shape = frame.shape
            self._writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*FOURCC), self.fps,
                                           (frame.shape[1], frame.shape[0]))
            if not self._writer.isOpened():
                raise VideoError(f"OpenCV cannot open an {FOURCC} writer for {self.path}")
        elif frame.shape != self._shape:
            raise VideoError(f"frame {self.n_frames} has shape {frame.shape}, the video's is {self._shape}")
        if text:
            frame = overlay_text(frame, text)
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.n_frames += 1

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def finish(self) -> Path:
        self._release()
        if self.n_frames == 0:
            self.discard()
            raise VideoError(f"no frames were written for {self.path}")
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        self._release()
        self.tmp.unlink(missing_ok=True)
