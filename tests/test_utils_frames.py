"""resize_linear: the one cv2 INTER_LINEAR resize behind the policy, IDM, MineCLIP and data-tool frames."""
from __future__ import annotations

import cv2
import numpy as np

from steve1.utils.frames import resize_linear


def test_resize_linear_matches_cv2_per_frame_for_any_leading_shape():
    frames = np.random.default_rng(0).integers(0, 256, (2, 3, 36, 64, 3), dtype=np.uint8)  # (B, T, H, W, 3)
    out = resize_linear(frames, (20, 24))
    assert out.shape == (2, 3, 20, 24, 3) and out.dtype == np.uint8
    want = cv2.resize(frames[1, 2], (24, 20), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out[1, 2], want)
    single = resize_linear(frames[0, 0], (20, 24))  # one (H, W, 3) frame
    np.testing.assert_array_equal(single, out[0, 0])


def test_frames_already_that_size_are_returned_as_is():
    frames = np.zeros((4, 16, 16, 3), dtype=np.uint8)
    assert resize_linear(frames, (16, 16)) is frames
    view = np.zeros((2, 16, 32, 3), dtype=np.uint8)[:, :, ::2]  # non-contiguous input is fine
    assert resize_linear(view, (8, 8)).shape == (2, 8, 8, 3)
