"""Window placement: one label per frame, MineStudio's 128/64 policy, streaming == whole-video planning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steve1.idm.windows import StreamingLabeller, WindowPolicy, plan_windows


def _minestudio_windows(n: int) -> list[tuple[int, int, list[int]]]:
    """MineStudio's labelling loop simulated on frame indices: fill a buffer to 128, predict,
    keep 0..31 of the first window, keep 32..95 of a full window or 32.. of a short (last) one, drop 64."""
    out, buf, nxt, first = [], [], 0, True
    while True:
        while len(buf) < 128 and nxt < n:
            buf.append(nxt)
            nxt += 1
        kept = list(buf[:32]) if first else []
        first = False
        if len(buf) < 128:
            out.append((buf[0], buf[-1] + 1, kept + buf[32:]))
            break
        out.append((buf[0], buf[-1] + 1, kept + buf[32:96]))
        buf = buf[64:]
    return out


@given(st.integers(1, 700))
@settings(max_examples=60, deadline=None)
def test_default_policy_is_minestudios(n):
    plan = plan_windows(n)
    ref = _minestudio_windows(n)
    assert [(s, e) for s, e, _, _ in plan] == [(s, e) for s, e, _ in ref]
    assert [list(range(lo, hi)) for _, _, lo, hi in plan] == [k for _, _, k in ref]


@given(st.integers(0, 600), st.sampled_from([(128, 64), (128, 128), (16, 8), (9, 3), (5, 5), (1, 1)]))
@settings(max_examples=80, deadline=None)
def test_kept_ranges_tile_the_video(n, ws):
    policy = WindowPolicy(*ws)
    plan = plan_windows(n, policy)
    kept = [i for _, _, lo, hi in plan for i in range(lo, hi)]
    assert kept == list(range(n))
    for s, e, lo, hi in plan:
        assert 0 <= s <= lo <= hi <= e <= n and e - s <= policy.window and e > s
        if e < n or s == 0:  # every window but a trailing short one sees its kept frames with full context
            assert lo - s in (0, policy.margin)


def test_non_overlapping_chunks_like_the_vpt_demo():
    assert plan_windows(300, WindowPolicy(128, 128)) == [
        (0, 128, 0, 128),
        (128, 256, 128, 256),
        (256, 300, 256, 300),
    ]
    assert plan_windows(256, WindowPolicy(128, 128))[-1] == (128, 256, 128, 256)


def test_bad_policies():
    with pytest.raises(ValueError, match="even"):
        WindowPolicy(128, 63)
    with pytest.raises(ValueError, match="stride"):
        WindowPolicy(64, 128)


def _fake_predict(calls: list):
    """Labels that encode (window start frame, position in window): the frame value is its index."""

    def predict(windows: np.ndarray):
        calls.append(windows.shape[:2])
        idx = windows[:, :, 0, 0, 0].astype(np.int64) + 256 * windows[:, :, 0, 0, 1].astype(
            np.int64
        )  # (B, T) frame index
        buttons = np.zeros((*idx.shape, 20), np.int64)
        camera = np.stack([idx[:, :1].repeat(idx.shape[1], 1), idx], axis=-1)  # (window start, frame)
        return buttons, camera

    return predict


def _video(n: int) -> np.ndarray:
    frames = np.zeros((n, 2, 2, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(n) % 256
    frames[:, 0, 0, 1] = np.arange(n) // 256
    return frames


@given(
    st.integers(1, 500),
    st.sampled_from([(128, 64), (32, 16), (8, 8), (12, 4)]),
    st.integers(1, 4),
    st.lists(st.integers(1, 90), min_size=1, max_size=20),
)
@settings(max_examples=60, deadline=None)
def test_streaming_equals_plan(n, ws, batch, chunk_sizes):
    policy = WindowPolicy(*ws)
    video = _video(n)
    calls: list = []
    lab = StreamingLabeller(_fake_predict(calls), policy, batch)
    got, pos, i = [], 0, 0
    while pos < n:
        step = chunk_sizes[i % len(chunk_sizes)]
        got.append(lab.push(video[pos : pos + step])[1])
        pos, i = pos + step, i + 1
    got.append(lab.finish()[1])
    camera = np.concatenate(got)
    expect = np.array([(s, f) for s, _, lo, hi in plan_windows(n, policy) for f in range(lo, hi)]).reshape(
        -1, 2
    )
    np.testing.assert_array_equal(camera, expect)
    assert sum(b * t for b, t in calls) == sum(e - s for s, e, _, _ in plan_windows(n, policy))
    assert all(b <= batch for b, _ in calls)


def test_streaming_misuse():
    lab = StreamingLabeller(_fake_predict([]), WindowPolicy(8, 4))
    lab.push(_video(3))
    lab.finish()
    with pytest.raises(RuntimeError, match="push after finish"):
        lab.push(_video(3))
    with pytest.raises(ValueError, match="batch_windows"):
        StreamingLabeller(_fake_predict([]), batch_windows=0)
