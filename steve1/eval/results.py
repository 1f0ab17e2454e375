"""Per-episode results on disk (CSV and JSON, written atomically) and their 95 % confidence intervals."""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from steve1.utils.atomic import atomic_write_text

# Two-sided 95 % Student-t critical values t_{0.975, df}, df = 1..30; beyond, the normal 1.96 (within 2 %).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95 % t confidence interval); half-width 0 for a single value."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if x.size == 0:
        raise ValueError("mean_ci95 needs at least one value")
    if x.size == 1:
        return float(x[0]), 0.0
    df = x.size - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.96
    return float(x.mean()), float(t * x.std(ddof=1) / math.sqrt(x.size))


def _check_rows(rows: Sequence[Mapping]) -> list[str]:
    if not rows:
        raise ValueError("no result rows to write")
    columns: list[str] = []
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise TypeError(f"result row {i} is a {type(r).__name__}, expected a dict")
        columns += [k for k in r if k not in columns]
    return columns


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def write_rows_csv(rows: Sequence[Mapping], path: str | Path) -> Path:
    """One row per episode (columns = union of keys, in first-seen order; missing cells empty)."""
    columns = _check_rows(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _plain(v) for k, v in r.items()} for r in rows)
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def write_rows_json(rows: Sequence[Mapping], path: str | Path) -> Path:
    """The same rows as a JSON list of objects."""
    _check_rows(rows)
    atomic_write_text(path, json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], indent=1))
    return Path(path)


def write_episode_results(rows: Sequence[Mapping], stem: str | Path) -> tuple[Path, Path]:
    """Write `<stem>.csv` and `<stem>.json`; returns both paths."""
    stem = Path(stem)
    return (write_rows_csv(rows, stem.with_name(stem.name + ".csv")),
            write_rows_json(rows, stem.with_name(stem.name + ".json")))


def read_rows_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def group_values(rows: Sequence[Mapping], metric: str, by: Sequence[str]) -> dict[tuple, list[float]]:
    """{(values of the `by` columns): [metric per episode]} — the input shape of the bar plots."""
    out: dict[tuple, list[float]] = {}
    for i, r in enumerate(rows):
        if metric not in r:
            raise KeyError(f"row {i} has no {metric!r} column (columns: {sorted(r)})")
        out.setdefault(tuple(r[k] for k in by), []).append(float(r[metric]))
    return out
