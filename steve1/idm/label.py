"""Label a folder of gameplay videos with the IDM and write them as STEVE-1 training episodes.

    python -m steve1.idm.label --video_dir VIDEOS --output_dir data/dataset_idm/ [--num_workers n ...]

Per video (decoded with OpenCV, BGR -> RGB, any resolution, streamed in chunks so memory stays bounded):
  frames   -> cv2 INTER_LINEAR 128x128  -> the episode's frames.mp4 and the IDM input
  frames   -> cv2 INTER_LINEAR 256x160  -> MineCLIP, one embedding per frame (None for the first 15)
  windows  -> IDM argmax actions, one per frame (`steve1.idm.windows`: 128-frame windows, stride 64, the
              middle 64 kept) -> MineRL env action dicts (`steve1.idm.actions`)
The episode is written with `steve1.data.episode.EpisodeWriter` (hidden partial directory, renamed when
complete) as `idm_<video name>_<hash of its relative path>_nmFrm<frames>`.

Resumable: a video whose episode exists is skipped; a killed run leaves only hidden partial directories,
which are removed when the video is redone. Sharded: worker i of n takes videos i, i+n, ... of the sorted list
(relative paths). Unreadable / corrupt / too-short videos are skipped, reported on stderr and counted.
Frames are used at the video's own rate by default (as MineStudio); the IDM was trained on 20 fps play, so
`--target-fps 20` drops frames of faster videos (a frame is kept when it starts a new 1/20 s slot).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from steve1 import paths
from steve1.cli_config import NothingProduced, UsageError, check, report, run_verb, settings_field
from steve1.cluster.runtime import LOCAL, use_ray
from steve1.data.embedding import MINECLIP_FRAME_HW, EmbedFn, StreamingEmbedder, embed_fn_for
from steve1.data.episode import FRAME_SIZE, MIN_EPISODE_FRAMES, EpisodeWriter, find_episode
from steve1.idm.actions import idm_to_env
from steve1.idm.loading import load_idm
from steve1.idm.model import InverseDynamicsModel
from steve1.idm.preprocess import resize_frames
from steve1.idm.windows import DEFAULT_POLICY, PredictFn, StreamingLabeller, WindowPolicy
from steve1.utils import video as video_io
from steve1.utils.checks import check_float, check_writable_dir
from steve1.utils.frames import resize_linear
from steve1.utils.run_record import DATASET_RECORD, check_or_record, discard_new_record
from steve1.utils.video import VideoError, keep_frame  # noqa: F401  (keep_frame: re-exported)

logger = logging.getLogger("steve1.idm")

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")
EPISODE_PREFIX = "idm_"
NAME_SEP = "_nmFrm"
DECODE_CHUNK = 64  # frames decoded, resized and embedded per step
IDM_FPS = 20  # the rate of the play the IDM was trained on


# ---------------------------------------------------------------------------------------------- videos


def list_videos(video_dir: str | Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS) -> list[Path]:
    """Video files under `video_dir` (recursively), sorted by their path relative to it."""
    video_dir = Path(video_dir)
    if not video_dir.is_dir():
        raise FileNotFoundError(f"video directory {video_dir} does not exist")
    exts = {e.lower() for e in extensions}
    return sorted(
        (
            p
            for p in video_dir.rglob("*")
            if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
        ),
        key=lambda p: p.relative_to(video_dir).as_posix(),
    )


def shard(items: list, worker_id: int, num_workers: int) -> list:
    """Worker `worker_id` of `num_workers` takes items worker_id, worker_id + num_workers, ..."""
    if num_workers < 1 or not 0 <= worker_id < num_workers:
        raise ValueError(
            f"need 0 <= worker_id < num_workers, got worker_id={worker_id}, num_workers={num_workers}"
        )
    return items[worker_id::num_workers]


def episode_key(video: Path, video_dir: Path) -> str:
    """`idm_<sanitised stem>_<8 hex of the relative path>`: readable, and unique per video."""
    rel = video.relative_to(video_dir).as_posix()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", video.stem)[:80] or "video"
    return f"{EPISODE_PREFIX}{stem}_{hashlib.sha1(rel.encode()).hexdigest()[:8]}"


def read_video_chunks(
    path: Path, chunk: int = DECODE_CHUNK, target_fps: float | None = None
) -> Iterator[np.ndarray]:
    """(n, H, W, 3) uint8 RGB chunks of a video decoded with OpenCV (BGR -> RGB), optionally resampled."""
    return video_io.read_video_chunks(path, chunk, target_fps)


def video_properties(path: Path) -> dict:
    cap = cv2.VideoCapture(str(path))
    try:
        return {
            "fps": float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
            "reported_frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0),
        }
    finally:
        cap.release()


# ---------------------------------------------------------------------------------------------- models


def make_predict_fn(model: InverseDynamicsModel, device: str | torch.device | None = None) -> PredictFn:
    """Windows (B, T, S, S, 3) uint8 numpy -> argmax buttons (B, T, 20), camera bins (B, T, 2) int64 numpy."""
    device = torch.device(device) if device is not None else next(model.parameters()).device

    def predict(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        img = torch.from_numpy(np.ascontiguousarray(windows)).to(device)
        with torch.inference_mode():
            pred = model.predict(img)
        return pred.buttons.cpu().numpy(), pred.camera.cpu().numpy()

    return predict


def make_embed_fn(config: str, weights: str | Path | None, device: str, batch_size: int = 32) -> EmbedFn:
    """MineCLIP per-frame embeddings: "attn" (the released weights), "tiny" (a random small MineCLIP with the
    real 512-d output, for smoke tests), or "fake" (a cheap deterministic stand-in, no model); float32."""
    return embed_fn_for(config, weights, device, batch_size, dtype="float32")


# ---------------------------------------------------------------------------------------------- labelling


def label_video(
    video: Path,
    output_dir: Path,
    key: str,
    predict: PredictFn,
    embed_fn: EmbedFn,
    idm_size: int,
    policy: WindowPolicy = DEFAULT_POLICY,
    batch_windows: int = 1,
    metadata: dict | None = None,
    target_fps: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Label one video and write it as an episode named `<key>_nmFrm<frames>`; returns its directory."""
    labeller = StreamingLabeller(predict, policy, batch_windows)
    embedder = StreamingEmbedder(embed_fn)
    props = video_properties(video)
    if not target_fps and props["fps"] > 0 and abs(props["fps"] - IDM_FPS) > 1 and log is not None:
        log(
            f"note: {video} runs at {props['fps']:g} fps; the IDM saw {IDM_FPS} fps play (see --target-fps)"
        )
    n = 0
    with EpisodeWriter(output_dir, key=key) as writer:
        for rgb in read_video_chunks(video, target_fps=target_fps):  # (n, H, W, 3)
            frames = resize_frames(rgb, FRAME_SIZE)  # (n, 128, 128, 3): episode frames
            writer.add_frames(frames)
            clip = resize_linear(rgb, MINECLIP_FRAME_HW)  # (n, 160, 256, 3)
            writer.add_embeds(embedder.push(clip))
            idm_in = frames if idm_size == FRAME_SIZE else resize_frames(rgb, idm_size)
            writer.add_actions(idm_to_env(*labeller.push(idm_in)))
            n += len(rgb)
        if n == 0:
            raise VideoError(f"{video}: no frame could be decoded (corrupt or empty video)")
        if n < MIN_EPISODE_FRAMES:
            raise VideoError(f"{video}: only {n} frames; an episode needs at least {MIN_EPISODE_FRAMES}")
        writer.add_actions(idm_to_env(*labeller.finish()))
        if not (len(writer.actions) == len(writer.embeds) == writer.num_frames == n):
            raise AssertionError(
                f"{video}: {len(writer.actions)} actions, {len(writer.embeds)} embeds, "
                f"{writer.num_frames} frames"
            )
        meta = {
            "source": "idm",
            "video": str(video),
            "frames": n,
            "window": policy.window,
            "stride": policy.stride,
            **props,
            "episode_fps": min(target_fps or props["fps"], props["fps"]) or props["fps"],
            **(metadata or {}),
        }
        return writer.finish(f"{key}{NAME_SEP}{n}", meta)


@dataclass
class LabelStats:
    videos: int = 0  # in this worker's shard
    labelled: int = 0
    already_done: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def label_videos(
    video_dir: str | Path,
    output_dir: str | Path,
    predict: PredictFn,
    embed_fn: EmbedFn,
    idm_size: int,
    policy: WindowPolicy = DEFAULT_POLICY,
    batch_windows: int = 1,
    worker_id: int = 0,
    num_workers: int = 1,
    metadata: dict | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    target_fps: float | None = None,
) -> LabelStats:
    """Label this worker's share of the videos under `video_dir` into episodes in `output_dir`."""
    from tqdm import tqdm

    log = log or logger.info
    video_dir, output_dir = Path(video_dir), Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    videos = shard(list_videos(video_dir), worker_id, num_workers)
    stats = LabelStats(videos=len(videos))
    t0 = time.perf_counter()
    bar = tqdm(videos, desc=f"idm label w{worker_id}", unit="video", disable=not progress)
    for video in bar:
        key = episode_key(video, video_dir)
        if find_episode(output_dir, key, sep=NAME_SEP) is not None:
            stats.already_done += 1
            continue
        try:
            path = label_video(
                video,
                output_dir,
                key,
                predict,
                embed_fn,
                idm_size,
                policy,
                batch_windows,
                metadata,
                target_fps=target_fps,
                log=log,
            )
        except (VideoError, cv2.error) as e:
            stats.failed += 1
            log(f"skipped: {e}")
            continue
        stats.labelled += 1
        stats.frames += int(path.name.rsplit(NAME_SEP, 1)[1])
        stats.seconds = time.perf_counter() - t0
        bar.set_postfix(frames=stats.frames, fps=f"{stats.frames_per_s:.1f}")
    stats.seconds = time.perf_counter() - t0
    if stats.failed:
        log(f"{stats.failed} of {stats.videos} video(s) could not be labelled (see the messages above)")
    return stats


# ---------------------------------------------------------------------------------------------- CLI


@dataclass
class LabelSettings:
    """Label gameplay videos with the VPT IDM -> training episodes (actions + MineCLIP embeddings)."""

    video_dir: str = settings_field(default=None, required=True)
    """folder of gameplay videos (searched recursively)"""
    output_dir: str = str(paths.DATA_DIR / "dataset_idm")
    """episodes go here"""
    idm_model: str = str(paths.IDM_MODEL)
    """IDM .model file, or '4x' / 'tiny' to build that size without a .model file"""
    idm_weights: str = str(paths.IDM_WEIGHTS)
    """IDM .weights file, or 'random' (random init: meaningless labels, smoke tests only)"""
    mineclip_config: str = settings_field(default="attn", alias=["--mineclip"])
    """attn: released MineCLIP; tiny / fake: stand-ins for smoke tests; or a MineCLIP checkpoint of ours"""
    mineclip_weights: str = str(paths.MINECLIP_WEIGHTS)
    """MineCLIP weights (for --mineclip-config attn)"""
    target_fps: float | None = None
    """drop frames of faster videos down to this rate (the IDM saw 20 fps); default: keep all"""
    window: int = 128
    """frames per IDM window"""
    stride: int = 64
    """frames between window starts (the middle of each window is kept)"""
    batch_windows: int = 1
    """full windows per IDM call"""
    worker_id: int = 0
    """this worker's number (0-based)"""
    num_workers: int = 1
    """the videos are split over this many workers"""
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    """torch device of the IDM and MineCLIP"""
    dtype: str = settings_field(default="float32", choices=["float32", "bfloat16", "float16"])
    """IDM precision (float32 = the reference's numbers)"""
    threads: int | None = None
    """torch CPU threads (default: torch's; use 1 per worker when workers share a machine)"""
    no_progress: bool = False
    """no progress bar"""
    ray: str | None = settings_field(default=None, nargs="?", const=LOCAL)
    """each video a Ray task: --ray (a local Ray) or --ray ADDRESS (a cluster); default: STEVE1_RAY"""

    def __post_init__(self):
        check(self.window >= 1, f"--window must be >= 1, got {self.window}")
        WindowPolicy(self.window, self.stride)  # checks the stride against the window
        check(self.batch_windows >= 1, f"--batch-windows must be >= 1, got {self.batch_windows}")
        check(self.num_workers >= 1, f"--num-workers must be >= 1, got {self.num_workers}")
        check(0 <= self.worker_id < self.num_workers,
              f"--worker-id {self.worker_id} must be in [0, --num-workers {self.num_workers})")
        check(self.threads is None or self.threads >= 1, f"--threads must be >= 1, got {self.threads}")
        if self.target_fps is not None:
            check_float(self.target_fps, "--target-fps", minimum=0, strictly=True)


OUTPUT_SETTINGS = ("idm_model", "idm_weights", "mineclip_config", "target_fps", "window", "stride", "dtype")


def load_models(args: LabelSettings) -> tuple[InverseDynamicsModel, EmbedFn]:
    """The IDM and the MineCLIP embedding function the settings name (random IDM weights: seeded with 0)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    weights = None if args.idm_weights == "random" else args.idm_weights
    if weights is None:
        logger.warning("--idm-weights random: the IDM has random weights, labels are meaningless")
        torch.manual_seed(0)
    model = load_idm(args.idm_model, weights, device=args.device, dtype=getattr(torch, args.dtype))
    return model, make_embed_fn(args.mineclip_config, args.mineclip_weights, args.device)


def run_metadata(args: LabelSettings) -> dict:
    """What every episode's metadata records about the models."""
    return {"idm_model": str(args.idm_model), "idm_weights": str(args.idm_weights),
            "mineclip": args.mineclip_config}


def run(args: LabelSettings) -> int:
    """Exit status 0 if a video was (or already had been) labelled, 1 if every video failed."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not Path(args.video_dir).is_dir():
        raise FileNotFoundError(f"--video-dir {args.video_dir} is not a folder")
    if not list_videos(Path(args.video_dir)):
        raise UsageError(f"--video-dir {args.video_dir} holds no video file")
    check_writable_dir(args.output_dir, "--output-dir")
    policy = WindowPolicy(args.window, args.stride)
    on_ray = use_ray(args.ray)  # each Ray worker loads the models itself
    model, embed_fn = (None, None) if on_ray else load_models(args)
    settings = {k: getattr(args, k) for k in OUTPUT_SETTINGS}  # checked once the models loaded
    was_there = check_or_record(args.output_dir, settings, redo_flag=None, name=DATASET_RECORD)
    if on_ray:
        from steve1.cluster.label import label_on_ray

        stats = label_on_ray(args, policy, run_metadata(args))
    else:
        stats = label_videos(
            args.video_dir,
            args.output_dir,
            make_predict_fn(model),
            embed_fn,
            model.config.img_size,
            policy,
            args.batch_windows,
            args.worker_id,
            args.num_workers,
            metadata=run_metadata(args),
            progress=not args.no_progress,
            target_fps=args.target_fps,
        )
    report(json.dumps({"worker_id": args.worker_id, **dataclasses.asdict(stats),
                       "frames_per_s": round(stats.frames_per_s, 2)}))
    if stats.labelled + stats.already_done == 0:
        discard_new_record(args.output_dir, was_there, DATASET_RECORD)
        if stats.failed:
            raise NothingProduced(f"none of the {stats.failed} video(s) could be labelled (see the messages "
                                  f"above)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(LabelSettings, run, argv, verb="label-video")


if __name__ == "__main__":
    sys.exit(main())
