"""Learning rate as a function of frames processed: linear warm-up, then cosine to zero at
`cosine_end_factor` (1.1) times the frame budget; training stops at the budget, so the last LR is ~2.45% of
the maximum, as in the original."""
from __future__ import annotations

import math

COSINE_END_FACTOR = 1.1  # the original's cosine reaches zero at 110% of n_frames


def learning_rate(
    frames: int,
    lr_max: float,
    warmup_frames: int,
    n_frames: int,
    cosine_end_factor: float = COSINE_END_FACTOR,
) -> float:
    end = cosine_end_factor * n_frames
    if frames < warmup_frames:
        return lr_max * frames / warmup_frames
    if frames > end:
        return 0.0
    r = (frames - warmup_frames) / (end - warmup_frames)
    return 0.5 * (1.0 + math.cos(math.pi * r)) * lr_max
