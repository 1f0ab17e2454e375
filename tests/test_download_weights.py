"""download_weights.sh against a local HTTP server that supports byte ranges (no internet here)."""
from __future__ import annotations

import hashlib
import http.server
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "download_weights.sh"
FILES = {  # served path -> content
    "models/rl-from-foundation-2x.weights": os.urandom(300_000),
    "gd/18JKzIwHmFBrAjfiRNobtwkN7zhwQc7IO": os.urandom(1000),
    "idm/4x_idm.model": b"model-bytes",
    "idm/4x_idm.weights": os.urandom(5000),
    "gd/1uaZM1ZLBz2dZWcn85rZmjP7LV6Sg5PZW": b"not the real mineclip checkpoint",
    "models/2x.model": b"2x-model",
    "gd/1E3fd_-H1rRZqMkUKHfiMhx-ppLLehQPI": b"steve1-weights",
}


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802 (http.server naming)
        key = self.path.lstrip("/")
        body = FILES.get(key)
        rng = self.headers.get("Range")
        self.requests.append((key, rng))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if rng:
            start = int(re.match(r"bytes=(\d+)-", rng).group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _run(server, data_dir, *groups):
    env = dict(os.environ, STEVE1_DATA_DIR=str(data_dir), STEVE1_VPT_URL=server,
               STEVE1_GDRIVE_URL=server + "/gd/{id}")
    return subprocess.run(["bash", str(SCRIPT), *groups], env=env, capture_output=True, text=True, timeout=60)


def test_downloads_record_and_verify(server, tmp_path):
    r = _run(server, tmp_path, "train", "idm")
    assert r.returncode == 0, r.stderr
    weights = tmp_path / "weights/vpt/rl-from-foundation-2x.weights"
    assert weights.read_bytes() == FILES["models/rl-from-foundation-2x.weights"]
    assert (tmp_path / "prior_dataset/data.pkl").read_bytes() == FILES["gd/18JKzIwHmFBrAjfiRNobtwkN7zhwQc7IO"]
    record = (tmp_path / "weights/checksums.md5").read_text()
    digest = hashlib.md5(weights.read_bytes()).hexdigest()
    assert f"{digest} weights/vpt/rl-from-foundation-2x.weights" in record
    assert not list(tmp_path.rglob("*.part"))

    # A second run downloads nothing and verifies every file.
    r = _run(server, tmp_path, "train", "idm")
    assert r.returncode == 0 and r.stdout.count("md5 ok") == 4

    # A corrupted file is caught with a message that says what to do.
    weights.write_bytes(b"corrupt")
    r = _run(server, tmp_path, "train")
    assert r.returncode != 0 and "Delete it and run this script again" in r.stderr


def test_resumes_partial_download(server, tmp_path):
    body = FILES["idm/4x_idm.weights"]
    part = tmp_path / "weights/vpt/4x_idm.weights.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:1234])
    _RangeHandler.requests.clear()
    r = _run(server, tmp_path, "idm")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "weights/vpt/4x_idm.weights").read_bytes() == body
    assert ("idm/4x_idm.weights", "bytes=1234-") in _RangeHandler.requests


def test_mineclip_md5_is_enforced(server, tmp_path):
    r = _run(server, tmp_path, "agent")  # the fake attn.pth cannot have the published md5
    assert r.returncode != 0
    assert "b5ece9198337cfd117a3bfbd921e56da was expected" in r.stderr


def test_unknown_group_is_refused(server, tmp_path):
    r = _run(server, tmp_path, "weights")
    assert r.returncode != 0 and "unknown group" in r.stderr


def test_missing_file_fails_clearly(server, tmp_path):
    r = _run(server, tmp_path, "vpt")  # the server has none of these
    assert r.returncode != 0 and "could not download weights/vpt/foundation-model-1x.model" in r.stderr
