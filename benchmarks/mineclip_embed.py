"""Episode embedding: cached per-frame features + batched window pooling vs encoding every 16-frame window.

    python -m benchmarks.mineclip_embed --frames 512 --config tiny
    python -m benchmarks.mineclip_embed --frames 48 --config attn [--weights data/weights/mineclip/attn.pth]

Random weights unless --weights is given. Last line:
    cached_speedup=<x> max_abs_diff=<d> frames_per_s=<f>
where frames_per_s is the cached path's wall-clock throughput (raw 640x360 frames in, per-step embeddings
out) and max_abs_diff compares the two paths' embeddings.
cached_speedup uses this process's CPU time with --timer cpu (the default on CPU; a machine shared with other
jobs does not distort it) or wall-clock time with --timer wall (the default on CUDA).
Both timings are printed above the last line.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from steve1.mineclip import MineCLIP, MineClipEmbedder, load_mineclip, preprocess_frames
from steve1.mineclip.config import VIDEO_FRAMES

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def per_window_embeddings(model: MineCLIP, frames: np.ndarray, batch_size: int, device: str) -> np.ndarray:
    """The original's way: each window of 16 frames goes through encode_video (every frame 16 times)."""
    x = preprocess_frames(frames)  # (N, 3, 160, 256) uint8
    windows = x.unfold(0, VIDEO_FRAMES, 1).permute(0, 4, 1, 2, 3)  # (N-15, 16, 3, 160, 256) view
    out = []
    with torch.inference_mode():
        for start in range(0, windows.shape[0], batch_size):
            batch = windows[start : start + batch_size].contiguous().to(device)
            out.append(model.encode_video(batch).float().cpu())
    return torch.cat(out).numpy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=512)
    parser.add_argument("--config", default="tiny", choices=["tiny", "reduced", "attn"])
    parser.add_argument("--weights", default=None, help="an attn.pth-format file (default: random weights)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    parser.add_argument("--batch-size", type=int, default=32, help="frames (cached) / windows (per-window)")
    parser.add_argument("--window-batch", type=int, default=4, help="windows per encode_video call")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timer", default="auto", choices=["auto", "cpu", "wall"],
                        help="auto: CPU time on cpu, wall time on cuda (host CPU time is not the GPU's work)")
    args = parser.parse_args(argv)
    if args.timer == "auto":
        args.timer = "cpu" if torch.device(args.device).type == "cpu" else "wall"
    if args.frames < VIDEO_FRAMES:
        parser.error(f"--frames must be at least {VIDEO_FRAMES}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.weights:
        model = load_mineclip(args.weights, args.config, device=args.device)
    else:
        model = MineCLIP(args.config).to(args.device).eval()
    frames = np.random.default_rng(0).integers(0, 256, (args.frames, 360, 640, 3), dtype=np.uint8)
    embedder = MineClipEmbedder(model, args.device, DTYPES[args.dtype], args.batch_size)
    embedder.embed_windows(frames[:VIDEO_FRAMES])  # warm-up

    w0, c0 = time.perf_counter(), time.process_time()
    cached = embedder.embed_windows(frames)  # (N-15, D)
    wall_cached, cpu_cached = time.perf_counter() - w0, time.process_time() - c0
    w0, c0 = time.perf_counter(), time.process_time()
    if args.dtype == "fp32":
        reference = per_window_embeddings(model, frames, args.window_batch, args.device)
    else:
        with torch.autocast(torch.device(args.device).type, dtype=DTYPES[args.dtype]):
            reference = per_window_embeddings(model, frames, args.window_batch, args.device)
    wall_window, cpu_window = time.perf_counter() - w0, time.process_time() - c0
    if args.timer == "cpu":
        t_cached, t_window = cpu_cached, cpu_window
    else:
        t_cached, t_window = wall_cached, wall_window

    n_windows = args.frames - VIDEO_FRAMES + 1
    print(f"config={args.config} frames={args.frames} windows={n_windows} device={args.device} "
          f"dtype={args.dtype} threads={args.threads}")
    print(f"cached: wall {wall_cached:.2f} s, cpu {cpu_cached:.2f} s ({args.frames} image-tower passes)")
    print(f"per-window: wall {wall_window:.2f} s, cpu {cpu_window:.2f} s "
          f"({n_windows * VIDEO_FRAMES} image-tower passes)")
    print(f"speedup: wall-clock {wall_window / wall_cached:.2f}, cpu-time {cpu_window / cpu_cached:.2f} "
          f"(timer={args.timer})")
    diff = float(np.abs(cached - reference).max())
    speedup, fps = t_window / t_cached, args.frames / wall_cached
    print(f"cached_speedup={speedup:.2f} max_abs_diff={diff:.3g} frames_per_s={fps:.1f}")


if __name__ == "__main__":
    main()
