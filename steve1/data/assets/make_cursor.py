"""Draw the 16x16 white arrow cursor that contractor conversion composites onto GUI frames.

Run `python -m steve1.data.assets.make_cursor` to (re)create `mouse_cursor_white_16x16.png` next to this file.
The original asset (VPT `cursors/mouse_cursor_white_16x16.png`) cannot be redistributed here; this is an
equivalent standard arrow (white fill, black 1-px outline, opaque pixels inside the top-left 16x11 box like
the original) but it is NOT byte-identical, so converted GUI frames differ from the original's in the few
pixels under the cursor. Only the picture differs; the compositing math is the original's.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from steve1.cli_config import report

CURSOR_PATH = Path(__file__).with_name("mouse_cursor_white_16x16.png")

# The classic arrow pointer: '#' black outline, 'o' white fill, '.' transparent (16 rows x 16 columns).
ARROW = (
    "#...............",
    "##..............",
    "#o#.............",
    "#oo#............",
    "#ooo#...........",
    "#oooo#..........",
    "#ooooo#.........",
    "#oooooo#........",
    "#ooooooo#.......",
    "#oooooooo#......",
    "#ooooo#####.....",
    "#oo#oo#.........",
    "#o#.#oo#........",
    "##..#oo#........",
    "#....#oo#.......",
    ".....###........",
)


def draw_cursor() -> np.ndarray:
    """The cursor as (16, 16, 4) uint8 BGRA (the layout cv2.imread(..., IMREAD_UNCHANGED) returns)."""
    art = np.array([list(row) for row in ARROW])  # (16, 16) characters
    img = np.zeros((16, 16, 4), np.uint8)
    img[art == "o", :3] = 255
    img[art != ".", 3] = 255
    return img


def main() -> None:
    if not cv2.imwrite(str(CURSOR_PATH), draw_cursor()):
        raise OSError(f"could not write {CURSOR_PATH}")
    report(f"wrote {CURSOR_PATH}")


if __name__ == "__main__":
    main()
