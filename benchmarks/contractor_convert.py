"""Contractor conversion throughput: a synthetic 640x360 recording in the released format -> episode.

Run: `python -m benchmarks.contractor_convert [--steps 1200] [--mineclip real|tiny|fake]`.
Measures download (file://), jsonl conversion, video decode, cursor, resizes, MineCLIP embedding and the
atomic episode write. Default embedder: the real MineCLIP (`data/weights/mineclip/attn.pth`) if present, else
the tiny random config; `fake` (no model) isolates the data path. The last line is `frames_per_s=<x>`.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from steve1.data.convert_contractor import convert_contractor
from steve1.data.embedding import fake_embed_fn
from steve1.paths import MINECLIP_WEIGHTS


def _make_recording(root: Path, steps: int) -> str:
    rel = "10.0/bench-recording-0000-20220421-092639"
    d = root / "data" / "10.0"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    w = cv2.VideoWriter(str(d.parent / f"{rel}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (640, 360))
    # smooth random texture (natural-looking content; pure noise would make the codec unrealistically slow)
    base = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (0, 0), 3)
    for i in range(steps):
        w.write(np.roll(base, 3 * i, axis=1))
    w.release()
    lines = []
    for i in range(steps):
        gui = (i // 100) % 4 == 3
        lines.append(json.dumps({
            "mouse": {"x": float(i % 1280), "y": 300.0, "dx": int(rng.integers(-20, 20)), "dy": 0,
                      "buttons": [0] if i % 5 == 0 else [], "newButtons": []},
            "keyboard": {"keys": ["key.keyboard.w"] if i % 3 else []}, "hotbar": (i // 50) % 9,
            "isGuiOpen": gui,
        }))
    (d.parent / f"{rel}.jsonl").write_text("\n".join(lines) + "\n")
    (root / "index.json").write_text(json.dumps({"basedir": (root / "data").as_uri() + "/",
                                                 "relpaths": [rel + ".mp4"]}))
    return (root / "index.json").as_uri()


def _embedder(kind: str, device: str):
    if kind == "fake":
        return fake_embed_fn, "fake (no model: colour means)"
    from steve1.data.embedding import make_mineclip_embed_fn

    if kind == "real" or (kind == "auto" and MINECLIP_WEIGHTS.exists()):
        fn = make_mineclip_embed_fn(MINECLIP_WEIGHTS, "attn", device, 32)
        return fn, f"MineCLIP attn (real weights, {device})"
    fn = make_mineclip_embed_fn(None, "tiny", device, 32)
    return fn, f"MineCLIP tiny config (random weights, {device})"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--mineclip", default="auto", choices=["auto", "real", "tiny", "fake"])
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    try:
        embed_fn, label = _embedder(a.mineclip, a.device)
    except ImportError as e:
        if a.mineclip != "auto":
            raise
        embed_fn, label = fake_embed_fn, f"fake (no model: steve1.mineclip unavailable: {e})"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = _make_recording(root / "srv", a.steps)
        t0 = time.perf_counter()
        stats = convert_contractor("10.x", root / "out", root / "cache", embed_fn, num_episodes=1,
                                   min_timesteps=1, index_url=url, progress=False)
        dt = time.perf_counter() - t0
    assert stats.converted == 1, stats
    print(f"steps={a.steps} kept_frames={stats.frames} seconds={dt:.2f} embedder={label}")
    print(f"frames_per_s={stats.frames / dt:.1f}")


if __name__ == "__main__":
    main()
