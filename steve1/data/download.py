"""Streamed, resumable downloads with retries (http(s):// and file:// URLs), standard library only.

`download_file(url, dest)` writes to `dest.part`, resumes a partial `.part` with an HTTP Range request,
retries transient failures with exponential backoff, checks the length against Content-Length, and renames to
`dest` only when complete. A 404/403/410 is permanent (`DownloadNotFound`, not retried).
"""
from __future__ import annotations

import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

CHUNK_BYTES = 1 << 20
PERMANENT_HTTP_CODES = (400, 401, 403, 404, 410)


class DownloadError(OSError):
    """A download failed after all retries."""


class DownloadNotFound(DownloadError):
    """The server says the file does not exist (or may not be read); retrying will not help."""


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _fetch_once(url: str, part: Path, timeout: float, on_bytes: Callable[[int], None] | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "steve1-downloader"})
    if have and not url.startswith("file:"):
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # range past the end: the partial file is already complete
            return
        if e.code in PERMANENT_HTTP_CODES:
            raise DownloadNotFound(f"{url}: HTTP {e.code} {e.reason}") from None
        raise
    with resp:
        status = getattr(resp, "status", None) or 200
        if have and status != 206:  # server ignored the range: start over
            have = 0
        mode = "ab" if have else "wb"
        length = resp.headers.get("Content-Length")
        expected = have + int(length) if length is not None else None
        with open(part, mode) as f:
            while chunk := resp.read(CHUNK_BYTES):
                f.write(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
            f.flush()
            os.fsync(f.fileno())
    got = part.stat().st_size
    if expected is not None and got != expected:
        raise DownloadError(f"{url}: connection closed after {got} of {expected} bytes")


def download_file(
    url: str, dest: str | Path, retries: int = 5, timeout: float = 60.0, backoff: float = 1.0,
    on_bytes: Callable[[int], None] | None = None,
) -> Path:
    """Download `url` to `dest` (skipped if `dest` exists); resumes `dest.part` left by an earlier try."""
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = _part_path(dest)
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part, timeout, on_bytes)
            os.replace(part, dest)
            return dest
        except DownloadNotFound:
            part.unlink(missing_ok=True)
            raise
        except (urllib.error.URLError, OSError, TimeoutError) as e:  # includes DownloadError, resets
            last = e
            if isinstance(e, urllib.error.URLError) and url.startswith("file:"):
                raise DownloadNotFound(f"{url}: {e.reason}") from None
            if attempt < retries:
                time.sleep(backoff * 2**attempt)
    raise DownloadError(f"{url}: failed after {retries + 1} attempts ({type(last).__name__}: {last})")


def remove_tree(path: str | Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
