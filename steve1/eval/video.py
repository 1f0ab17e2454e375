"""Write episode videos (mp4, FourCC mp4v, atomically) with an optional prompt overlay, and read them back.

Also the interactive session's display frame: the 640×360 game view next to a 320-px black panel holding the
prompt in white, vertically centred (960×360 in all), as the original's `run_interactive.py`.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from steve1.utils.atomic import atomic_write_text, remove_stale_tmp_siblings, tmp_sibling
from steve1.utils.video import VideoError, read_video_chunks

log = logging.getLogger(__name__)
FOURCC = "mp4v"
PAPER_VIDEO_FPS = 30  # run_agent.py's videos (the game runs at 20 steps/s, so they play 1.5× fast)
INTERACTIVE_VIDEO_FPS = 20
PANEL_WIDTH = 320
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_THICKNESS = 2


def _check_frame(frame: np.ndarray, i: int, shape: tuple | None) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise VideoError(f"frame {i} must be an (H, W, 3) uint8 RGB array, got {frame.shape} {frame.dtype}")
    if shape is not None and frame.shape != shape:
        raise VideoError(f"frame {i} has shape {frame.shape}, but the video's frames are {shape}")
    return frame


def fitted_font_scale(text: str, width: int, thickness: int = FONT_THICKNESS) -> float:
    """Largest font scale (steps of 0.1 from 0.1) whose text width stays within width − width // 5."""
    target = width - width // 5
    scale = 0.1
    while cv2.getTextSize(text, FONT, round(scale + 0.1, 1), thickness)[0][0] <= target:
        scale = round(scale + 0.1, 1)
        if scale >= 10:
            break
    return scale


MIN_OVERLAY_SCALE = 0.3  # the smallest font scale still readable on a 128x128 video (letters ~7 px high)
MAX_OVERLAY_LINES = 3


def overlay_lines(text: str, width: int, height: int, thickness: int = 1) -> tuple[list[str], float]:
    """`text` split into as few lines (at most MAX_OVERLAY_LINES, at word boundaries) as keep its font
    scale readable at `width`; returns (lines, scale)."""
    words = text.split() or [text]
    cap = max(0.1, height / 200)  # the text never takes over a small frame
    best: tuple[list[str], float] = ([text], 0.0)
    for n in range(1, min(MAX_OVERLAY_LINES, len(words)) + 1):
        per = -(-len(text) // n)  # characters per line, about
        lines, line = [], []
        for word in words:
            if line and len(" ".join([*line, word])) > per and len(lines) < n - 1:
                lines.append(" ".join(line))
                line = []
            line.append(word)
        lines.append(" ".join(line))
        scale = min(min(fitted_font_scale(ln, width, thickness) for ln in lines), cap)
        if scale > best[1]:
            best = (lines, scale)
        if scale >= min(MIN_OVERLAY_SCALE, cap):
            break
    return best


def overlay_text(frame: np.ndarray, text: str, thickness: int = 1) -> np.ndarray:
    """A copy of an (H, W, 3) frame with `text` in white on a dark band at the top, fitted to the width and
    wrapped onto more lines when one line would be too small to read (a long prompt on a 128x128 video)."""
    out = np.array(frame, copy=True)
    if not text:
        return out
    h, w = out.shape[:2]
    lines, scale = overlay_lines(text, w, h, thickness)
    (_, th), base = cv2.getTextSize("Ag", FONT, scale, thickness)
    line_h = th + base + 2
    band = min(h, line_h * len(lines) + 4)
    out[:band] = (out[:band] * 0.35).astype(np.uint8)
    for i, line in enumerate(lines):
        tw = cv2.getTextSize(line, FONT, scale, thickness)[0][0]
        cv2.putText(out, line, ((w - tw) // 2, 2 + th + i * line_h), FONT, scale, (255, 255, 255), thickness,
                    cv2.LINE_AA)
    return out


def prompt_panel(text: str, height: int = 360, width: int = PANEL_WIDTH) -> np.ndarray:
    """(height, width, 3) uint8 black panel with `text` in white, horizontally and vertically centred.

    One line, font scale fitted as the original (grows by 0.1 until the text reaches width − width // 5).
    """
    panel = np.zeros((height, width, 3), np.uint8)
    if not text:
        return panel
    scale = fitted_font_scale(text, width)
    (tw, th), base = cv2.getTextSize(text, FONT, scale, FONT_THICKNESS)
    # centre the box from the cap line (baseline − th) to the descender line (baseline + base)
    origin = ((width - tw) // 2, (height + th - base) // 2)
    cv2.putText(panel, text, origin, FONT, scale, (255, 255, 255), FONT_THICKNESS, cv2.LINE_AA)
    return panel


def frame_with_prompt_panel(frame: np.ndarray, text: str, panel_width: int = PANEL_WIDTH) -> np.ndarray:
    """The interactive display: (H, W, 3) RGB frame ‖ prompt panel -> (H, W + panel_width, 3)."""
    frame = _check_frame(frame, 0, None)
    return np.concatenate([frame, prompt_panel(text, frame.shape[0], panel_width)], axis=1)


class VideoStream:
    """An mp4 written frame by frame under a temporary name: `write(frame_rgb, text)` per frame, then
    `finish()` (renamed into place) or `discard()` (nothing left behind). Long episodes stream to disk
    instead of being held in memory."""

    def __init__(self, path: str | Path, fps: float):
        if fps <= 0:
            raise VideoError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.fps = float(fps)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp_siblings(self.path)  # hidden temp videos of a killed earlier run
        self.tmp = tmp_sibling(self.path, suffix=".mp4")
        self._writer: cv2.VideoWriter | None = None
        self._shape: tuple | None = None
        self.n_frames = 0

    def write(self, frame: np.ndarray, text: str | None = None) -> None:
        """One (H, W, 3) uint8 RGB frame; `text` is drawn at the top when given."""
        frame = _check_frame(frame, self.n_frames, self._shape)
        if self._writer is None:
            self._shape = frame.shape
            self._writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*FOURCC), self.fps,
                                           (frame.shape[1], frame.shape[0]))
            if not self._writer.isOpened():
                raise VideoError(f"OpenCV cannot open an {FOURCC} writer for {self.path}")
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
        """Remove the temporary file. Never raises: it runs while another error is being reported."""
        try:
            self._release()
            self.tmp.unlink(missing_ok=True)
        except (OSError, cv2.error) as e:
            log.warning("could not remove the temporary video %s: %s", self.tmp, e)


def write_video(frames: np.ndarray | Iterable[np.ndarray], path: str | Path, fps: float = PAPER_VIDEO_FPS,
                text: str | Sequence[str] | None = None) -> Path:
    """Write RGB frames ((N, H, W, 3) uint8, or an iterable of (H, W, 3)) to an mp4 at `fps`.

    `text`: one prompt for the whole video or one per frame, drawn at the top of each frame. The file appears
    only when complete (written under a temporary name, then renamed).
    """
    per_frame = None if text is None or isinstance(text, str) else list(text)
    stream = VideoStream(path, fps)
    try:
        for i, frame in enumerate(frames):
            label = text if per_frame is None else per_frame[i] if i < len(per_frame) else None
            if label is None and per_frame is not None:
                raise VideoError(f"text has {len(per_frame)} entries but there are more frames")
            stream.write(frame, label)
        if per_frame is not None and stream.n_frames and len(per_frame) != stream.n_frames:
            raise VideoError(f"text has {len(per_frame)} entries for {stream.n_frames} frames")
        return stream.finish()
    except BaseException:
        stream.discard()
        raise


def read_video(path: str | Path) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB frames of a video file; a clear error if it is missing, unreadable or empty."""
    return np.concatenate(list(read_video_chunks(path, chunk=256, allow_empty=False)))


def save_interactive_recording(frames: Sequence[np.ndarray], prompts: Sequence[str], stem: str | Path,
                               fps: float = INTERACTIVE_VIDEO_FPS) -> tuple[Path, Path]:
    """The interactive session's "save video": `<stem>.mp4` of the display frames and `<stem>.json`, the
    list of the prompt active at each frame (as the original). Returns both paths."""
    if len(frames) != len(prompts):
        raise VideoError(f"{len(frames)} frames but {len(prompts)} prompts; record one prompt per frame")
    stem = Path(stem)
    video = write_video(frames, stem.with_name(stem.name + ".mp4"), fps=fps)
    log = stem.with_name(stem.name + ".json")
    atomic_write_text(log, json.dumps(list(prompts)))
    return video, log
