"""VPT's mu-law camera quantisation: degrees per step <-> 11 bins per axis.

The original (`CameraQuantizer`, scheme "mu_law", binsize 2, maxval 10, mu 10) discretises each component as:
clip to ±10, x/10, v = sign(x)·log(1+10·|x|)/log(11), v·10, bin = numpy-round (half to even) of (v+10)/2.
It undiscretises bin b as v = (2b-10)/10, x = sign(v)·(1/10)·(11^|v| - 1)·10. Bin edges are ±(11^(k/10) - 1),
k = 1, 3, 5, 7, 9 (±0.270982, ±1.053136, ±2.316625, ±4.357657, ±7.654728); beyond ±10° the bins saturate.

That formula is monotone, so its result is fully described by the 10 float64 inputs at which it steps up
(`CAMERA_BIN_THRESHOLDS`), and undiscretising by the 11 bin centres (`CAMERA_BIN_CENTERS`). Both tables hold
the exact float64 numbers the reference produced when the golden file was made (numpy 1.26.4 with its AVX-512
log/pow): thresholds found by bisection over float64 of the reference formula, verified to step exactly once
within ±200 ULPs. We look them up instead of calling log/pow, so results are identical on every numpy and CPU.
Evaluating the formula with numpy 2.x (correctly rounded log/pow) instead differs only at the single input
-2.3166247903554 (-(11^0.5 - 1) in float64: bin 2 instead of the reference's 3) and by 1 and 3 ULP in the
centres ±5.809483 and ±3.215369; `tests/test_actions_camera.py` re-derives the tables from the formula.

Differences from the original, none on valid float64 or integer input:
- non-finite degrees raise ValueError (the original turned NaN into a garbage int64);
- float32 input is read as float64 (under numpy 1.x the original computed in float32, which can move a value
  within float32 rounding of an edge into the neighbouring bin);
- `undiscretize_camera` accepts only integer bins 0..10.
"""
from __future__ import annotations

import numpy as np

# ACTION_TRANSFORMER_KWARGS of VPT's agent.py
CAMERA_BINSIZE = 2
CAMERA_MAXVAL = 10
CAMERA_MU = 10
N_CAMERA_BINS = 2 * CAMERA_MAXVAL // CAMERA_BINSIZE + 1  # 11 bins per axis
NULL_CAMERA_BIN = CAMERA_MAXVAL // CAMERA_BINSIZE  # 5: zero degrees


def _table(hex_values: list[str]) -> np.ndarray:
    a = np.array([float.fromhex(h) for h in hex_values], dtype=np.float64)
    a.setflags(write=False)
    return a


# (10,) float64: the smallest degrees value that lands in bin b + 1, for b = 0..9.
CAMERA_BIN_THRESHOLDS = _table([
    "-0x1.e9e70fb317739p+2", "-0x1.16e3d8cca85afp+2", "-0x1.2887293fd6f34p+1", "-0x1.0d9a5916e4371p+0",
    "-0x1.157c345c9448dp-2", "0x1.157c345c9448ep-2", "0x1.0d9a5916e4373p+0", "0x1.2887293fd6f33p+1",
    "0x1.16e3d8cca85b3p+2", "0x1.e9e70fb317735p+2",
])
# (11,) float64 degrees of each bin: -10, -5.809483, -3.215369, -1.609499, -0.615394, 0, ... symmetric.
CAMERA_BIN_CENTERS = _table([
    "-0x1.4000000000000p+3", "-0x1.73ce9251d7d03p+2", "-0x1.9b91373b994a4p+1", "-0x1.9c081a417ab98p+0",
    "-0x1.3b14f50ef7f2ap-1", "0x0.0p+0", "0x1.3b14f50ef7f2ap-1", "0x1.9c081a417ab98p+0",
    "0x1.9b91373b994a4p+1", "0x1.73ce9251d7d03p+2", "0x1.4000000000000p+3",
])


def discretize_camera(degrees: np.ndarray) -> np.ndarray:
    """Camera degrees (any shape, e.g. (N, 2) pitch/yaw; int or float) -> int64 bins 0..10, same shape."""
    x = np.asarray(degrees, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        where = np.argwhere(~np.isfinite(x))[:5].tolist()
        raise ValueError(f"camera degrees must be finite, got NaN or inf at indices {where}")
    return np.searchsorted(CAMERA_BIN_THRESHOLDS, x, side="right").astype(np.int64, copy=False)


def undiscretize_camera(bins: np.ndarray) -> np.ndarray:
    """Integer camera bins 0..10 (any shape) -> float64 degrees (bin centres) of the same shape."""
    b = np.asarray(bins)
    if b.dtype.kind not in "iu":
        raise TypeError(f"camera bins must be integers 0..{N_CAMERA_BINS - 1}, got dtype {b.dtype}")
    if b.size and (b.min() < 0 or b.max() >= N_CAMERA_BINS):
        raise ValueError(f"camera bins must lie in 0..{N_CAMERA_BINS - 1}, got range [{b.min()}, {b.max()}]")
    return CAMERA_BIN_CENTERS[b]
