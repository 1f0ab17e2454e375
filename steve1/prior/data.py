"""The prior's training data: the released `data.pkl` of (MineCLIP text embedding, visual embedding) pairs."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from steve1.prior.model import MINECLIP_DIM
from steve1.utils.safe_pickle import safe_load

DATA_KEYS = ("text_embeddings", "visual_embeddings")


class PriorDataError(ValueError):
    """`data.pkl` does not have the released layout."""


def _as_rows(seq, key: str, path: Path, dim: int) -> np.ndarray:
    """A sequence of arrays (each (dim,) or (k, dim)) or one (N, dim) array -> (N, dim) float32."""
    if isinstance(seq, np.ndarray):
        items = [seq]
    elif isinstance(seq, (list, tuple)):
        items = list(seq)
    else:
        raise PriorDataError(f"{path}: '{key}' must be a list of {dim}-d arrays, got {type(seq).__name__}")
    if not items:
        raise PriorDataError(f"{path}: '{key}' is empty")
    rows = []
    for i, item in enumerate(items):
        try:
            arr = np.asarray(item, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise PriorDataError(f"{path}: '{key}'[{i}] is not numeric ({e})") from None
        if arr.size == 0 or arr.shape[-1] != dim or arr.size % dim:
            raise PriorDataError(f"{path}: '{key}'[{i}] has shape {arr.shape}; every element must hold "
                                 f"{dim}-d MineCLIP embeddings")
        rows.append(arr.reshape(-1, dim))
    out = np.concatenate(rows, axis=0)
    if not np.isfinite(out).all():
        bad = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
        raise PriorDataError(f"{path}: '{key}' row {bad} holds NaN or inf")
    return out


def load_prior_data(path: str | Path, dim: int = MINECLIP_DIM) -> tuple[np.ndarray, np.ndarray]:
    """Read `data.pkl` -> (text (N, dim), visual (N, dim)) float32, validated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prior dataset {path} not found: download data.pkl (./download_weights.sh "
                                f"puts it in data/prior_dataset/) or pass --data_path")
    data = safe_load(path)
    if not isinstance(data, dict):
        raise PriorDataError(f"{path}: expected a dict with keys {list(DATA_KEYS)}, "
                             f"got {type(data).__name__}")
    missing = [k for k in DATA_KEYS if k not in data]
    if missing:
        raise PriorDataError(f"{path}: missing keys {missing} (found {sorted(map(str, data))}); expected "
                             f"{list(DATA_KEYS)}")
    text = _as_rows(data["text_embeddings"], "text_embeddings", path, dim)
    visual = _as_rows(data["visual_embeddings"], "visual_embeddings", path, dim)
    if len(text) != len(visual):
        raise PriorDataError(f"{path}: {len(text)} text embeddings but {len(visual)} visual embeddings; "
                             f"they must be parallel")
    return text, visual


def split_train_val(n: int, n_validation: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded shuffle of range(n); the last n_validation indices are the validation set (as the original)."""
    if not 0 <= n_validation < n:
        raise ValueError(f"n_validation must be in [0, {n - 1}] for {n} pairs, got {n_validation}")
    order = np.random.default_rng(seed).permutation(n)
    return order[: n - n_validation], order[n - n_validation:]


def fingerprint(*arrays: np.ndarray) -> str:
    """sha256 of the arrays' bytes: ties a resume checkpoint to its data."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()
