"""Atomic training checkpoints: one directory per save, `latest` names the newest complete one.

Layout of `<checkpoint_dir>/step_<n>/`: `model.pt` (policy state dict), `optimizer.pt`, and one
`trainer_rank<r>.pt` per process (counters, RNG states, carried recurrent state, gradients accumulated so
far).
Every rank writes into a hidden `.step_<n>.partial` directory; the main process renames it into place and only
then rewrites `latest`, so a kill at any moment leaves the previous checkpoint intact.
"""
from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from steve1.utils.atomic import atomic_torch_save, atomic_write_text

LATEST = "latest"


def rng_states() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    numpy_state = (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss))
    states = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def step_dir_name(n_steps: int) -> str:
    return f"step_{n_steps:010d}"


def partial_dir(checkpoint_dir: Path, n_steps: int) -> Path:
    return checkpoint_dir / f".{step_dir_name(n_steps)}.partial"


def save_torch(obj: Any, path: Path) -> None:
    atomic_torch_save(obj, path)


def publish(checkpoint_dir: Path, n_steps: int, keep: int) -> Path:
    """Main process, after every rank wrote its files: rename into place, point `latest` at it, prune."""
    final = checkpoint_dir / step_dir_name(n_steps)
    if final.exists():
        shutil.rmtree(final)
    partial_dir(checkpoint_dir, n_steps).rename(final)
    atomic_write_text(checkpoint_dir / LATEST, final.name + "\n")
    done = sorted(p for p in checkpoint_dir.glob("step_*") if p.is_dir())
    for old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    pointer = Path(checkpoint_dir) / LATEST
    if not pointer.is_file():
        return None
    path = Path(checkpoint_dir) / pointer.read_text().strip()
    if not (path / "model.pt").is_file():
        raise FileNotFoundError(
            f"{pointer} names {path}, which is missing or incomplete; delete {pointer} to start over "
            f"or point it at another step_* directory"
        )
    return path


def load(path: Path, name: str) -> Any:
    file = path / name
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint file {file} is missing; the checkpoint is incomplete")
    return torch.load(file, map_location="cpu", weights_only=True)
