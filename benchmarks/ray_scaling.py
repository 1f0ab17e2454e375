"""Contractor conversion on a local Ray cluster vs the local path, on synthetic episodes.

Run: `python -m benchmarks.ray_scaling [--workers 2] [--episodes 6] [--steps 400]`.
Makes `--episodes` synthetic recordings in the released format (640x360 mp4 + jsonl, served as file://),
converts them once locally (one process) and once with `--ray` on a local Ray of `--workers` CPUs (one task
per episode), both with the `fake` MineCLIP (no model: the data path only), and compares the two output
folders file by file. The last line is `workers=<n> frames_per_s=<x> local_frames_per_s=<y>
same_as_local=<true|false>`; Ray's start-up and its workers' first imports are not timed (a cluster is
started once for many jobs).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from steve1.data.convert_contractor import ConvertSettings, convert_contractor
from steve1.data.embedding import fake_embed_fn

SOURCE_HW = (360, 640)  # the contractor videos' resolution
SOURCE_FPS = 20.0


def synthetic_release(root: Path, n_episodes: int, steps: int) -> str:
    """`n_episodes` recordings + an index file under `root` in the released layout; the index's file:// URL.
    Each recording is a smooth random texture scrolling sideways (a different one per episode) and a jsonl
    with walking, camera turns, attacks, hotbar changes and an open GUI now and then (the cursor is drawn)."""
    relpaths = []
    for k in range(n_episodes):
        rel = f"10.0/synthetic-player-{k:04d}-20220421-092639"
        video = root / "data" / f"{rel}.mp4"
        video.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(k)
        noise = rng.integers(0, 255, (*SOURCE_HW, 3), dtype=np.uint8)
        base = cv2.GaussianBlur(noise, (0, 0), 3)  # (360, 640, 3); pure noise would be unrealistically slow
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), SOURCE_FPS, SOURCE_HW[::-1])
        for i in range(steps):
            writer.write(np.roll(base, 3 * i, axis=1))
        writer.release()
        lines = []
        for i in range(steps):
            lines.append(json.dumps({
                "mouse": {"x": float(i % 1280), "y": 300.0, "dx": int(rng.integers(-20, 20)), "dy": 0,
                          "buttons": [0] if i % 5 == 0 else [], "newButtons": []},
                "keyboard": {"keys": ["key.keyboard.w"] if i % 3 else []}, "hotbar": (i // 50) % 9,
                "isGuiOpen": (i // 100) % 4 == 3,
            }))
        (root / "data" / f"{rel}.jsonl").write_text("\n".join(lines) + "\n")
        relpaths.append(rel + ".mp4")
    index = root / "index.json"
    index.write_text(json.dumps({"basedir": (root / "data").as_uri() + "/", "relpaths": relpaths}))
    return index.as_uri()


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every visible file under `folder` (relative path -> bytes); hidden ones (records, ledgers) left out."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def _warm_up(_job: int) -> int:
    """Import the conversion code in a Ray worker (each worker's one-off start-up, not timed)."""
    import steve1.cluster.convert  # noqa: F401

    return 0


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray cluster")
    p.add_argument("--episodes", type=int, default=6)
    p.add_argument("--steps", type=int, default=400)
    a = p.parse_args()
    import ray

    from steve1.cluster.convert import convert_on_ray
    from steve1.cluster.tasks import run_tasks

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = synthetic_release(root / "srv", a.episodes, a.steps)
        t0 = time.perf_counter()
        local = convert_contractor("10.x", root / "local", root / "cache_local", fake_embed_fn,
                                   num_episodes=a.episodes, min_timesteps=1, index_url=url, progress=False)
        local_s = time.perf_counter() - t0
        ray.init(num_cpus=a.workers, include_dashboard=False)
        try:
            list(run_tasks(_warm_up, range(a.workers)))
            settings = ConvertSettings(index="10.x", index_url=url, output_dir=str(root / "ray"),
                                       cache_dir=str(root / "cache_ray"), num_episodes=a.episodes,
                                       min_timesteps=1, mineclip_config="fake", device="cpu", ray="local")
            t0 = time.perf_counter()
            on_ray = convert_on_ray(settings)
            ray_s = time.perf_counter() - t0
        finally:
            ray.shutdown()
        same = (on_ray.converted == local.converted == a.episodes
                and folder_files(root / "ray") == folder_files(root / "local"))
    print(f"episodes={a.episodes} frames={local.frames} local_seconds={local_s:.2f} ray_seconds={ray_s:.2f}")
    print(f"workers={a.workers} frames_per_s={on_ray.frames / ray_s:.1f} "
          f"local_frames_per_s={local.frames / local_s:.1f} same_as_local={str(same).lower()}")


if __name__ == "__main__":
    main()
