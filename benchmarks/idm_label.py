"""Labelling throughput: synthetic 640x360 videos -> IDM-labelled episodes, end to end.

Run: python -m benchmarks.idm_label --config tiny      (seconds; tiny IDM + tiny 512-d MineCLIP)
     python -m benchmarks.idm_label --config 4x        (the released sizes, random weights; minutes on CPU)
End to end = decode (OpenCV) + resizes + IDM windows (128 frames, stride 64) + MineCLIP embeddings + episode
writing. Also prints the IDM alone on full windows. The last line is `frames_per_s=<end-to-end frames/s>`.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from steve1.data.embedding import fake_embed_fn
from steve1.idm import label as L
from steve1.idm.config import idm_config
from steve1.idm.model import InverseDynamicsModel
from steve1.idm.windows import WindowPolicy
from steve1.spaces import POV_HEIGHT, POV_WIDTH


def _write_videos(folder: Path, count: int, frames: int) -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (POV_HEIGHT, POV_WIDTH, 3), dtype=np.uint8)
    for v in range(count):
        vw = cv2.VideoWriter(str(folder / f"video{v}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 20,
                             (POV_WIDTH, POV_HEIGHT))
        for i in range(frames):
            vw.write(np.roll(base, shift=(3 * i + v, 5 * i), axis=(0, 1)))
        vw.release()


def _embed_fn(kind: str, device: str):
    if kind == "fake":
        return fake_embed_fn
    from steve1.mineclip import ATTN, TINY, MineCLIP, MineClipEmbedder

    cfg = dataclasses.replace(TINY, embed_dim=512) if kind == "tiny" else ATTN
    return MineClipEmbedder(MineCLIP(cfg).to(device).eval(), device=device).embed_frames


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="tiny", choices=["tiny", "4x"])
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--frames", type=int, default=None, help="frames per video (default 300 tiny, 200 4x)")
    p.add_argument("--mineclip", default=None, choices=["tiny", "attn", "fake"],
                   help="embedder (random weights); default tiny for --config tiny, attn for 4x")
    p.add_argument("--batch_windows", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    frames = a.frames or (300 if a.config == "tiny" else 200)
    mineclip = a.mineclip or ("tiny" if a.config == "tiny" else "attn")

    torch.manual_seed(0)
    model = InverseDynamicsModel(idm_config(a.config)).to(a.device).eval()
    predict = L.make_predict_fn(model)
    size = model.config.img_size
    window = torch.randint(0, 256, (a.batch_windows, 128, size, size, 3), dtype=torch.uint8).to(a.device)
    predict(window.cpu().numpy())  # warm-up
    t = time.perf_counter()
    predict(window.cpu().numpy())
    idm_fps = a.batch_windows * 128 / (time.perf_counter() - t)
    print(f"IDM {a.config} alone: {idm_fps:.1f} frames/s ({a.batch_windows} x 128-frame window, {a.device})")

    embed_fn = _embed_fn(mineclip, a.device)
    with tempfile.TemporaryDirectory() as tmp:
        videos, out = Path(tmp) / "videos", Path(tmp) / "out"
        videos.mkdir()
        _write_videos(videos, a.videos, frames)
        stats = L.label_videos(videos, out, predict, embed_fn, size, WindowPolicy(128, 64), a.batch_windows,
                               progress=False)
    assert stats.labelled == a.videos and stats.frames == a.videos * frames, stats
    print(f"labeller {a.config} + MineCLIP {mineclip}: {stats.videos} videos x {frames} frames 640x360, "
          f"{stats.seconds:.1f} s, {torch.get_num_threads()} threads, {a.device}")
    print(f"frames_per_s={stats.frames_per_s:.2f}")


if __name__ == "__main__":
    main()
