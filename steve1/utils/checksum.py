"""File checksums (the released files are verified before they are loaded)."""
from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_digest(path: str | Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ChecksumError(ValueError):
    """A file's checksum is not the expected one."""


def verify_digest(path: str | Path, expected: str, algorithm: str = "md5", what: str = "file") -> None:
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{what} {path} has {algorithm} {actual}, expected {expected}: the download is incomplete or "
            f"this is a different file. Re-download it (./download_weights.sh) or pass the right path."
        )
