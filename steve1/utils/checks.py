"""Checks of a verb's settings and outputs, run before any world starts, any epoch runs or anything is
written.

Each `check_*` raises `ValueError` with a one-line message, which `steve1.cli_config.run_verb` reports as one
line with exit status 2.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

# ---------------------------------------------------------------------------------------------- checks


def check_int(value: int, name: str, minimum: int = 1, also: tuple[int, ...] = ()) -> int:
    """`value` >= `minimum` (or one of `also`, e.g. -1 for "all")."""
    if value in also or value >= minimum:
        return value
    extra = "".join(f" or {a}" for a in also)
    raise ValueError(f"{name} must be >= {minimum}{extra}, got {value}")


def check_float(value: float, name: str, minimum: float | None = None, strictly: bool = False) -> float:
    """A finite number (not nan/inf), >= `minimum` (> with `strictly`) when given."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strictly else value < minimum):
        raise ValueError(f"{name} must be {'>' if strictly else '>='} {minimum}, got {value}")
    return value


def check_writable_dir(path: str | Path, name: str) -> Path:
    """`path` is (or can be created as) a directory we can write in. Leaves nothing behind: directories
    created to probe are removed again."""
    path = Path(path)
    missing, existing = [], path
    while not existing.exists():
        missing.append(existing)
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ValueError(f"{name} {path}: {existing} is not a directory")
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".steve1-write-probe-"):
            pass
    except OSError as e:
        raise ValueError(f"{name} {path} is not writable ({e.strerror or e})") from None
    finally:
        for d in reversed(created):
            d.rmdir()
    return path


NAME_MAX_BYTES = 255  # file name limit of Linux file systems
TMP_NAME_BYTES = 40  # what steve1.utils.atomic.tmp_sibling adds to a name (dot, pid, random part, suffix)


def check_file_name(path: str | Path, name: str) -> Path:
    """`path`'s last part, and the temporary name it is first written under, fit the file name limit."""
    n = len(Path(path).name.encode("utf-8", "surrogatepass"))
    if n + TMP_NAME_BYTES > NAME_MAX_BYTES:
        raise ValueError(f"{name}: the file name {Path(path).name[:40]!r}... is {n} bytes; at most "
                         f"{NAME_MAX_BYTES - TMP_NAME_BYTES} fit")
    return Path(path)


def check_writable_file(path: str | Path, name: str) -> Path:
    """`path` can be written (its folder is writable; it is not a directory)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} {path} is a directory, expected a file name")
    check_writable_dir(path.parent, f"the folder of {name}")
    return path
