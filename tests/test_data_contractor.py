"""Contractor conversion on recordings built in the released format (.mp4 640x360 20 fps + .jsonl)."""
from __future__ import annotations

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np


def step(keys=(), dx=0, dy=0, buttons=(), new_buttons=(), hotbar=0, gui=False, x=0.0, y=0.0):
    """One .jsonl line with the original key names (mouse.*, keyboard.*, hotbar, isGuiOpen, ...)."""
    return {
        "mouse": {"x": x, "y": y, "dx": dx, "dy": dy, "scaledX": x - 640, "scaledY": y - 360, "dwheel": 0.0,
                  "buttons": list(buttons), "newButtons": list(new_buttons)},
        "keyboard": {"keys": list(keys), "newKeys": [], "chars": ""},
        "isGuiOpen": gui, "isGuiInventory": gui, "hotbar": hotbar, "yaw": 0.0, "pitch": 0.0,
        "xpos": 0.0, "ypos": 64.0, "zpos": 0.0, "tick": 0, "milli": 0, "inventory": [],
        "serverTick": 0, "serverTickDurationMs": 50.0, "stats": {},
    }


def source_frame(i: int) -> np.ndarray:
    """A smooth 640x360 BGR frame that survives mp4v compression well."""
    yy, xx = np.mgrid[0:360, 0:640].astype(np.float32)
    f = np.empty((360, 640, 3), np.uint8)
    f[..., 0] = (xx / 640 * 200 + 5 * i) % 256
    f[..., 1] = (yy / 360 * 200 + 3 * i) % 256
    f[..., 2] = 60 + (i % 7) * 20
    return f


def write_video(path: Path, n: int) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (640, 360))
    for i in range(n):
        w.write(source_frame(i))
    w.release()


def write_jsonl(path: Path, steps: list[dict], truncate_last: bool = False) -> None:
    text = "\n".join(json.dumps(s) for s in steps) + "\n"
    if truncate_last:
        text = text.rstrip("\n")
        text = text[: len(text) - 40]  # cut the last line in the middle
    path.write_text(text)


def decode_all(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f)
    cap.release()
    return out


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves a directory with HTTP Range support; records requests; can cut the first response short."""

    log: list = []
    cut_first_after: int | None = None

    def log_message(self, *a):  # quiet
        pass

    def do_GET(self):
        RangeHandler.log.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if RangeHandler.cut_first_after is not None:
            n, RangeHandler.cut_first_after = RangeHandler.cut_first_after, None
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class LocalServer:
    def __init__(self, root: Path):
        RangeHandler.log = []
        RangeHandler.cut_first_after = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------------------------------------ tests
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

from steve1.data.contractor_actions import convert_steps  # noqa: E402
from steve1.data.contractor_index import select_indices  # noqa: E402
from steve1.data.convert_contractor import convert_contractor  # noqa: E402
from steve1.data.cursor import composite_cursor, load_cursor  # noqa: E402
from steve1.data.download import DownloadNotFound, download_file  # noqa: E402
from steve1.data.embedding import StreamingEmbedder, fake_embed_fn  # noqa: E402
from steve1.data.episode import Episode, list_episode_dirs  # noqa: E402
from steve1.vpt.actions import env_to_agent  # noqa: E402

W = "key.keyboard.w"


def scripted_steps():
    """A recording exercising every rule; the comment says what the converter must do with each step."""
    return [
        step(keys=[W], buttons=[0], new_buttons=[0]),       # 0: attack stuck from the start -> forward only
        step(buttons=[0]),                                  # 1: stuck attack only -> null, dropped
        step(dx=7, buttons=[0]),                            # 2: dx 7 -> 1.05 deg -> camera yaw 1 (truncated)
        step(),                                             # 3: null, dropped
        step(dx=6, dy=-20),                                 # 4: 0.9 -> 0 yaw, -3.0 pitch; non-null
        step(buttons=[0], new_buttons=[0]),                 # 5: attack pressed anew -> unstuck, attack=1
        step(keys=["key.keyboard.space", "key.keyboard.k"], hotbar=2),  # 6: jump + scroll to hotbar.3
        step(hotbar=4),                                     # 7: scroll on a null step -> lost, dropped
        step(keys=["key.keyboard.e"], gui=True, x=100.0, y=50.0, hotbar=4),  # 8: inventory, cursor (50, 25)
        step(dx=-7, gui=True, x=1275.0, y=715.0, hotbar=4),  # 9: cursor partly off bottom-right (637, 357)
        step(dx=1, gui=True, x=-9.0, y=-11.0, hotbar=4),    # 10: cursor partly off top-left: int(-4.5) = -4
        step(buttons=[1, 2], hotbar=4),                     # 11: use + pickItem
        step(keys=["key.keyboard.left.shift", "key.keyboard.f", "key.keyboard.9", "key.keyboard.escape"],
             hotbar=4),                                     # 12: sneak, swapHands, hotbar.9, ESC
    ] + [step(keys=[W], hotbar=4) for _ in range(27)]      # 13..39: filler


def test_actions_match_hand_computed():
    conv = convert_steps(scripted_steps())
    assert conv.kept[:9].tolist() == [0, 2, 4, 5, 6, 8, 9, 10, 11]
    a = dict(zip(conv.kept.tolist(), conv.actions, strict=True))  # jsonl step -> action
    assert a[0]["forward"] == 1 and a[0]["attack"] == 0
    assert a[2]["attack"] == 0 and a[2]["camera"].tolist() == [0, 1] and a[2]["camera"].dtype == np.int64
    assert a[4]["camera"].tolist() == [-3, 0]
    assert a[5]["attack"] == 1
    assert a[6]["jump"] == 1 and a[6]["hotbar.3"] == 1
    assert a[8]["inventory"] == 1 and sum(a[8][f"hotbar.{i}"] for i in range(1, 10)) == 0  # change was lost
    assert a[9]["camera"].tolist() == [0, -1]
    assert (a[11]["use"], a[11]["pickItem"], a[11]["attack"]) == (1, 1, 0)
    assert all(a[12][k] == 1 for k in ("sneak", "swapHands", "hotbar.9", "ESC"))
    assert set(a[0]) == set(a[12]) and len(a[0]) == 24
    assert conv.gui_open[5:8].tolist() == [True, True, True] and conv.mouse_xy[5].tolist() == [100.0, 50.0]
    exact = convert_steps(scripted_steps(), exact_camera=True)
    assert exact.actions[1]["camera"].dtype == np.float32
    np.testing.assert_allclose(exact.actions[1]["camera"], [0, 1.05], rtol=1e-6)
    np.testing.assert_allclose(exact.actions[2]["camera"], [-3.0, 0.9], rtol=1e-6)


def test_cursor_blend_math():
    img, alpha = load_cursor()
    assert img.shape == (16, 16, 3) and alpha.shape == (16, 16, 1) and alpha.max() == 1.0
    frame = np.full((20, 30, 3), 100, np.uint8)
    half = np.full((16, 16, 1), 0.3)
    composite_cursor(frame, np.full((16, 16, 3), 255, np.uint8), half, -4, 10)
    # 100 * 0.7 + 255 * 0.3 = 146.5 -> 146 (truncation); only the visible 12 x 10 part changes
    assert (frame[10:20, 0:12] == 146).all() and (frame[:10] == 100).all() and (frame[:, 12:] == 100).all()
    composite_cursor(frame, img, alpha, 40, 0)  # entirely off the right edge: no change, no error
    assert (frame[:10] == 100).all()


def test_streaming_embedder_equals_one_call():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (50, 8, 8, 3), dtype=np.uint8)
    whole = fake_embed_fn(frames)
    se = StreamingEmbedder(fake_embed_fn)
    parts = se.push(frames[:7]) + se.push(frames[7:30]) + se.push(frames[30:])
    assert len(parts) == 50 and parts[:15] == [None] * 15
    assert all(np.array_equal(x, y) for x, y in zip(whole[15:], parts[15:], strict=True))


def _expected_full_frame(src_bgr, gui_xy):
    img, alpha = load_cursor()
    f = src_bgr.copy()
    if gui_xy is not None:
        composite_cursor(f, img, alpha, *gui_xy)
    return cv2.cvtColor(f, cv2.COLOR_BGR2RGB)


def _make_release(root: Path, n_episodes: int = 4):
    """data/<relpath>.mp4/.jsonl + an index file like OpenAI's, served from root."""
    rel = []
    steps = scripted_steps()
    for i in range(n_episodes):
        relpath = f"10.0/cheeky-cornflower-setter-{i:04d}-20220421-092639"
        rel.append(relpath + ".mp4")
        (root / "data" / "10.0").mkdir(parents=True, exist_ok=True)
        write_video(root / "data" / f"{relpath}.mp4", len(steps))
        write_jsonl(root / "data" / f"{relpath}.jsonl", steps)
    return rel


def _index(root: Path, base: str, rel) -> str:
    (root / "index.json").write_text(json.dumps({"basedir": base + "/data/", "relpaths": rel}))
    return base + "/index.json"


def test_convert_end_to_end_frames_actions_and_failures(tmp_path):
    root = tmp_path / "srv"
    rel = _make_release(root, 4)
    steps = scripted_steps()
    # episode 1: truncated last jsonl line; episode 2: unreadable mp4; episode 3: video shorter than jsonl
    d = root / "data"
    write_jsonl(d / rel[1].replace(".mp4", ".jsonl"), steps, truncate_last=True)
    (d / rel[2]).write_bytes(b"\x00not a video" * 100)
    write_video(d / rel[3], 30)
    seen = []

    def recording_embed(frames):
        seen.append(frames.copy())
        return fake_embed_fn(frames)

    out, cache = tmp_path / "out", tmp_path / "cache"
    with LocalServer(root) as srv:
        stats = convert_contractor("10.x", out, cache, recording_embed, num_episodes=10,
                                   min_timesteps=10, index_url=_index(root, srv.url, rel), progress=False,
                                   retries=0)
    assert (stats.converted, stats.corrupt, stats.too_short) == (3, 1, 0)
    names = [p.name for p in list_episode_dirs(out)]
    assert names == ["contractor_10_x_0_contractor_nmFrm37_term", "contractor_10_x_1_contractor_nmFrm36_term",
                     "contractor_10_x_3_contractor_nmFrm27_term"]
    ep = Episode(out / names[0], deep=True)
    assert ep.metadata["contractor_version"] == "10.x" and ep.metadata["contractor_index"] == 0
    conv = convert_steps(steps)
    assert [x["camera"].tolist() for x in ep.actions()] == [x["camera"].tolist() for x in conv.actions]
    emb = ep.embeds()
    assert emb[:15] == [None] * 15 and emb[15].shape == (1, 512)
    buttons, camera = env_to_agent(ep.actions())  # the training side reads the stored actions
    assert buttons.shape == camera.shape == (37,)
    # MineCLIP frames handed to the embedder equal the hand-computed pipeline on the decoded source video
    src = decode_all(d / rel[0])
    clip_frames = seen[0]  # (37, 160, 256, 3): first episode, one chunk
    assert clip_frames.shape == (37, 160, 256, 3)
    gui_xy = {8: (50, 25), 9: (637, 357), 10: (-4, -5)}
    for k, j in enumerate(conv.kept):
        full = _expected_full_frame(src[j], gui_xy.get(int(j)))
        expect = cv2.resize(full, (256, 160), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(clip_frames[k], expect), f"clip frame {k} (step {j})"
    # the cursor is really there: the white fill pixel (row 2, col 1 of the arrow) at (25+2, 50+1)
    gui_full = _expected_full_frame(src[8], (50, 25))
    assert (gui_full[27, 51] == 255).all() and (gui_full[25, 50] == 0).all()
    # stored 128x128 frames = lossy re-encode of resize(full frame)
    policy = ep.frames()
    expect128 = np.stack([cv2.resize(_expected_full_frame(src[j], gui_xy.get(int(j))), (128, 128),
                                     interpolation=cv2.INTER_LINEAR) for j in conv.kept])
    assert np.abs(policy.astype(int) - expect128.astype(int)).mean() < 3
    # truncated jsonl: 39 good lines kept, the drop is recorded
    ep1 = Episode(out / names[1])
    assert any("jsonl line 39" in s for s in ep1.metadata["dropped"])
    # short video: 30 frames -> steps 0..29 kept (27 non-null), the rest reported
    assert any("video ends at frame 30" in s for s in Episode(out / names[2]).metadata["dropped"])
    # the corrupt episode is recorded, nothing of it is visible, the cache is cleaned
    assert "contractor_10_x_2" not in " ".join(names)
    assert not any(cache.glob("10.x_*"))
    ledger = (out / ".contractor_skipped_10_x.jsonl").read_text()
    assert '"index": 2' in ledger and '"corrupt"' in ledger
    # a rerun does nothing new: done episodes and recorded failures are skipped without downloading
    with LocalServer(root) as srv:
        again = convert_contractor("10.x", out, tmp_path / "cache2", recording_embed, num_episodes=10,
                                   min_timesteps=10, index_url=_index(root, srv.url, rel), progress=False)
        assert [p for p, _ in RangeHandler.log] == ["/index.json"]
    assert (again.already_done, again.skipped_before, again.converted) == (3, 1, 0)


def test_missing_files_and_min_timesteps(tmp_path):
    root = tmp_path / "srv"
    rel = _make_release(root, 2) + ["10.0/gone-0000-20220421-092639.mp4"]
    with LocalServer(root) as srv:
        stats = convert_contractor("10.x", tmp_path / "out", tmp_path / "c", fake_embed_fn, num_episodes=3,
                                   min_timesteps=100, index_url=_index(root, srv.url, rel), progress=False,
                                   retries=0)
        # too short is decided from the jsonl alone: no video was downloaded
        assert not any(p.endswith(".mp4") for p, _ in RangeHandler.log)
    assert (stats.too_short, stats.missing, stats.converted) == (2, 1, 0)
    assert list_episode_dirs(tmp_path / "out") == []


def test_sharding():
    assert select_indices(100, worker_id=1, num_episodes=5) == [5, 6, 7, 8, 9]  # the original's blocks
    shards = [select_indices(10, w, None, num_workers=3) for w in range(3)]
    assert sorted(sum(shards, [])) == list(range(10)) and shards[1] == [1, 4, 7]
    assert select_indices(10, 2, 2, num_workers=3) == [2, 5]
    with pytest.raises(ValueError, match="worker_id"):
        select_indices(10, 3, 1, num_workers=3)


def test_download_resume_and_not_found(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    blob = os.urandom(300_000)
    (root / "f.bin").write_bytes(blob)
    dest = tmp_path / "dl" / "f.bin"
    with LocalServer(root) as srv:
        # a partial download from an earlier run resumes with a Range request
        dest.parent.mkdir()
        (tmp_path / "dl" / "f.bin.part").write_bytes(blob[:100_000])
        download_file(srv.url + "/f.bin", dest)
        assert dest.read_bytes() == blob and RangeHandler.log[-1][1] == "bytes=100000-"
        # a connection cut mid-body is retried and resumed
        dest.unlink()
        RangeHandler.cut_first_after = 50_000
        download_file(srv.url + "/f.bin", dest, backoff=0.01)
        assert dest.read_bytes() == blob and RangeHandler.log[-1][1] == "bytes=50000-"
        assert not (tmp_path / "dl" / "f.bin.part").exists()
        with pytest.raises(DownloadNotFound, match="404"):
            download_file(srv.url + "/nope.bin", tmp_path / "dl" / "nope.bin", backoff=0.01)
    # file:// URLs work too
    download_file((root / "f.bin").as_uri(), tmp_path / "dl2" / "f.bin")
    assert (tmp_path / "dl2" / "f.bin").read_bytes() == blob


_KILL_SCRIPT = """
import os, signal, sys
import steve1.data.convert_contractor as cc
from steve1.data.embedding import fake_embed_fn
cc.CHUNK_FRAMES = 8
calls = []
def embed(frames):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of writing the episode
    return fake_embed_fn(frames)
cc.convert_contractor("10.x", sys.argv[1], sys.argv[2], embed, num_episodes=1, min_timesteps=10,
                      index_url=sys.argv[3], progress=False)
"""


def test_kill_during_conversion_then_resume(tmp_path):
    root = tmp_path / "srv"
    rel = _make_release(root, 1)
    out = tmp_path / "out"
    with LocalServer(root) as srv:
        url = _index(root, srv.url, rel)
        proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(out), str(tmp_path / "c"), url],
                              cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        assert list_episode_dirs(out) == []  # nothing visible
        assert any(p.name.startswith(".partial-contractor_10_x_0") for p in out.iterdir())
        stats = convert_contractor("10.x", out, tmp_path / "c", fake_embed_fn, num_episodes=1,
                                   min_timesteps=10, index_url=url, progress=False)
    assert stats.converted == 1
    assert [p.name for p in out.iterdir() if p.name.startswith(".partial")] == []  # stale partial removed
    assert len(Episode(list_episode_dirs(out)[0], deep=True)) == 37


def test_failed_download_is_resumed_next_run(tmp_path):
    root = tmp_path / "srv"
    rel = _make_release(root, 1)
    out, cache = tmp_path / "out", tmp_path / "cache"
    with LocalServer(root) as srv:
        url = _index(root, srv.url, rel)
        convert_contractor("10.x", out, cache, fake_embed_fn, num_episodes=1, min_timesteps=10, index_url=url,
                           progress=False)  # caches the index
        for p in list_episode_dirs(out):
            import shutil

            shutil.rmtree(p)
        RangeHandler.log.clear()
        RangeHandler.cut_first_after = 3000  # the jsonl download breaks off
        stats = convert_contractor("10.x", out, cache, fake_embed_fn, num_episodes=1, min_timesteps=10,
                                   index_url=url, progress=False, retries=0)
        assert stats.download_failed == 1
        assert (cache / "10.x_0" / "action.jsonl.part").stat().st_size == 3000  # kept for the next run
        stats = convert_contractor("10.x", out, cache, fake_embed_fn, num_episodes=1, min_timesteps=10,
                                   index_url=url, progress=False)
        assert stats.converted == 1 and ("/data/" + rel[0].replace(".mp4", ".jsonl"), "bytes=3000-") in \
            RangeHandler.log
    assert not (cache / "10.x_0").exists()


def test_cli_with_file_urls(tmp_path, capsys):
    from steve1.data.convert_contractor import main

    root = tmp_path / "srv"
    rel = _make_release(root, 2)
    (root / "index.json").write_text(json.dumps({"basedir": (root / "data").as_uri() + "/", "relpaths": rel}))
    rc = main(["--index", "9.x", "--index_url", (root / "index.json").as_uri(), "--output_dir",
               str(tmp_path / "out"), "--cache_dir", str(tmp_path / "c"), "--num_workers", "2", "--worker_id",
               "1", "--num_episodes", "none", "--min_timesteps", "10", "--mineclip_config", "fake",
               "--exact_camera", "--no_progress"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["converted"] == 1 and summary["frames"] == 37
    (ep,) = list_episode_dirs(tmp_path / "out")
    assert ep.name == "contractor_9_x_1_contractor_nmFrm37_term"
    e = Episode(ep)
    assert e.metadata["camera"] == "exact" and e.actions()[1]["camera"].dtype == np.float32
