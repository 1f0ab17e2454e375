"""The GUI mouse cursor drawn onto contractor frames when a GUI is open.

The math is the original's: the cursor's top-left corner goes to (int(x * s), int(y * s)) with
s = frame_height / 720, and each covered pixel becomes `(frame * (1 - a) + cursor * a).astype(uint8)`
(float64 alpha = png_alpha / 255, truncation to uint8). Difference from the original: a cursor partly off the
left/top edge (negative position) is clipped and its visible part drawn; the original's slicing then fails
with a shape error and the whole episode is thrown away. The picture itself is our own arrow (see
`steve1/data/assets/make_cursor.py`), not byte-identical to VPT's `mouse_cursor_white_16x16.png`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

CURSOR_PNG = Path(__file__).parent / "assets" / "mouse_cursor_white_16x16.png"
MINEREC_ORIGINAL_HEIGHT_PX = 720  # contractor mouse x/y are in 720p GUI pixels


@lru_cache(maxsize=4)
def load_cursor(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(image (16, 16, 3) uint8 BGR, alpha (16, 16, 1) float64 in [0, 1]) from an RGBA PNG."""
    path = str(path or CURSOR_PNG)
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise FileNotFoundError(
            f"cursor image {path} is missing or not an RGBA PNG; recreate it with "
            f"`python -m steve1.data.assets.make_cursor`"
        )
    img = img[:16, :16, :]
    return img[:, :, :3].copy(), img[:, :, 3:] / 255.0


def cursor_position(mouse_x: float, mouse_y: float, frame_height: int) -> tuple[int, int]:
    """Top-left pixel of the cursor on a frame this high (int() truncates toward zero, as the original)."""
    scale = frame_height / MINEREC_ORIGINAL_HEIGHT_PX
    return int(mouse_x * scale), int(mouse_y * scale)


def composite_cursor(frame: np.ndarray, image: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend `image` (h, w, 3) onto `frame` (H, W, 3) uint8 in place with its top-left at (x, y)."""
    h, w = image.shape[:2]
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, frame.shape[0]), min(x + w, frame.shape[1])
    if y1 <= y0 or x1 <= x0:
        return  # entirely off the frame
    cy, cx = slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)
    a = alpha[cy, cx]
    region = frame[y0:y1, x0:x1, :]
    frame[y0:y1, x0:x1, :] = (region * (1 - a) + image[cy, cx, :] * a).astype(np.uint8)
