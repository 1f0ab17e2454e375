"""Camera mu-law quantisation: the lookup tables against the original formula, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.vpt.camera import (
    CAMERA_BIN_CENTERS,
    CAMERA_BIN_THRESHOLDS,
    N_CAMERA_BINS,
    NULL_CAMERA_BIN,
    discretize_camera,
    undiscretize_camera,
)


def formula_bins(x: np.ndarray) -> np.ndarray:
    """The original mu-law discretize (maxval 10, binsize 2, mu 10), in its operation order."""
    x = np.clip(np.asarray(x, dtype=np.float64), -10, 10)
    x = x / 10
    v = np.sign(x) * (np.log(1.0 + 10 * np.abs(x)) / np.log(1.0 + 10))
    v *= 10
    return np.round((v + 10) / 2).astype(np.int64)


def formula_centers() -> np.ndarray:
    v = np.arange(11) * 2 - 10
    v = v / 10
    x = np.sign(v) * (1.0 / 10) * ((1.0 + 10) ** np.abs(v) - 1.0)
    return x * 10


def _key(x: float) -> int:  # monotone integer order of float64 values
    i = int(np.array([x]).view(np.int64)[0])
    return i if i >= 0 else -(i & 0x7FFFFFFFFFFFFFFF)


def _from_key(k: int) -> float:
    i = k if k >= 0 else (-k) | -0x8000000000000000
    return float(np.array([i], dtype=np.int64).view(np.float64)[0])


def test_thresholds_are_where_the_formula_steps():
    """Re-derive each step of the formula on this numpy by bisection over float64: it is the tabled value,
    except that numpy's own log may move one step by one ULP (see the camera module docstring)."""
    assert np.all(np.diff(CAMERA_BIN_THRESHOLDS) > 0) and CAMERA_BIN_THRESHOLDS.shape == (N_CAMERA_BINS - 1,)
    ulps = []
    for b in range(N_CAMERA_BINS - 1):
        lo, hi = _key(-10.0), _key(10.0)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if formula_bins(np.array([_from_key(mid)]))[0] > b:
                hi = mid
            else:
                lo = mid
        ulps.append(hi - _key(float(CAMERA_BIN_THRESHOLDS[b])))
    assert all(abs(u) <= 1 for u in ulps), ulps
    assert sum(u != 0 for u in ulps) <= 1, ulps


def test_thresholds_near_the_analytic_edges():
    k = np.array([1, 3, 5, 7, 9])
    edges = 11.0 ** (k / 10) - 1  # ±0.270982, ±1.053136, ±2.316625, ±4.357657, ±7.654728
    analytic = np.concatenate([-edges[::-1], edges])
    np.testing.assert_allclose(CAMERA_BIN_THRESHOLDS, analytic, rtol=4e-15, atol=0)


def test_discretize_matches_formula_on_dense_samples():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-15, 15, 100_000),
        rng.uniform(-0.5, 0.5, 20_000),
        np.arange(-200, 201, dtype=np.float64),  # contractor cameras are whole degrees
        np.arange(-1000, 1001) * 0.15,  # mouse units times CAMERA_SCALER
        [0.0, -0.0, 10.0, -10.0, 180.0, -180.0, 1e9, -1e9],
        np.nextafter(CAMERA_BIN_THRESHOLDS, -np.inf),  # just below every step
    ])
    np.testing.assert_array_equal(discretize_camera(x), formula_bins(x))
    # at the steps themselves only the one libm-dependent value (-(11^0.5 - 1)) may differ from this numpy
    at_steps = discretize_camera(CAMERA_BIN_THRESHOLDS)
    np.testing.assert_array_equal(at_steps, np.arange(1, 11))
    differs = CAMERA_BIN_THRESHOLDS[formula_bins(CAMERA_BIN_THRESHOLDS) != at_steps]
    assert set(differs.tolist()) <= {-2.3166247903554}


def test_discretize_dtypes_and_shapes():
    assert discretize_camera(np.array([7, -7], dtype=np.int64)).tolist() == [9, 1]
    assert discretize_camera(np.array([[0.0, 1.05]], dtype=np.float32)).tolist() == [[5, 6]]
    assert discretize_camera(0.0).shape == () and discretize_camera(0.0) == NULL_CAMERA_BIN
    out = discretize_camera(np.zeros((3, 4, 2)))
    assert out.shape == (3, 4, 2) and out.dtype == np.int64
    assert discretize_camera(np.zeros((0, 2))).shape == (0, 2)


def test_centers_match_formula():
    np.testing.assert_array_max_ulp(CAMERA_BIN_CENTERS, formula_centers(), maxulp=3)
    np.testing.assert_array_equal(CAMERA_BIN_CENTERS, -CAMERA_BIN_CENTERS[::-1])
    assert CAMERA_BIN_CENTERS[NULL_CAMERA_BIN] == 0 and CAMERA_BIN_CENTERS[-1] == 10
    # every centre lands back in its own bin
    np.testing.assert_array_equal(discretize_camera(CAMERA_BIN_CENTERS), np.arange(11))
    np.testing.assert_array_equal(undiscretize_camera(np.arange(11).reshape(1, 11)), CAMERA_BIN_CENTERS[None])


def test_tables_are_read_only():
    with pytest.raises(ValueError):
        CAMERA_BIN_CENTERS[0] = 1.0
    with pytest.raises(ValueError):
        CAMERA_BIN_THRESHOLDS[0] = 1.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_discretize_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="finite"):
        discretize_camera(np.array([[0.0, bad]]))


def test_undiscretize_rejects_bad_bins():
    with pytest.raises(ValueError, match="0..10"):
        undiscretize_camera(np.array([11]))
    with pytest.raises(ValueError, match="0..10"):
        undiscretize_camera(np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        undiscretize_camera(np.array([1.0]))
    with pytest.raises(TypeError, match="integers"):
        undiscretize_camera(np.array([True]))
