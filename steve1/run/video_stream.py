"""An mp4 written frame by frame under a temporary name and renamed into place only when finished.

Long episodes (3,000 steps) are streamed to disk instead of held in memory; a crashed or retried episode
leaves no file behind (`discard`). The class lives in `steve1.eval.video`, where `write_video` uses it too.
"""
from __future__ import annotations

from steve1.eval.video import VideoStream

__all__ = ["VideoStream"]
