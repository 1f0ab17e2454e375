"""Write files and directories so that a reader never sees them half-written.

Everything is written under a temporary name in the same directory, flushed, then renamed into place
(rename is atomic on POSIX within one filesystem).
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path


def tmp_sibling(path: Path, suffix: str = "") -> Path:
    """A hidden, unique temporary name beside `path` (same filesystem, so a rename is atomic)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{next(tempfile._get_candidate_names())}{suffix}")


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_tmp_siblings(path: str | Path) -> int:
    """Delete the `tmp_sibling` files of `path` left by writers that were killed (their process is gone);
    returns how many. Those of live writers are left alone."""
    path = Path(path)
    n = 0
    if not path.parent.is_dir():
        return 0
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.tmp-*"):
        pid_text = tmp.name[len(f".{path.name}.tmp-"):].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)) and tmp.is_file():
            try:
                tmp.unlink()
                n += 1
            except OSError:
                pass
    return n


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def torch_bytes(obj) -> bytes:
    """`torch.save(obj)` as bytes. Saved through an in-memory buffer, the archive's inner folder is always
    `archive` (saving to a path names it after the file, so a temporary name made every file different):
    identical objects give byte-identical files."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def atomic_torch_save(obj, path: str | Path) -> None:
    """`torch.save` to `path` atomically, byte-identical for identical objects (see `torch_bytes`)."""
    atomic_write_bytes(path, torch_bytes(obj))


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary file path; on success it is renamed to `path`, on error removed.

    For writers that need a file name (torch.save, cv2.VideoWriter, ...).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path, suffix=path.suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | Path):
    """Yield a temporary directory; on success it is renamed to `path` (which must not exist yet)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; refusing to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
