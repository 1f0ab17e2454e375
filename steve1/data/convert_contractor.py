"""Convert VPT contractor recordings into STEVE-1 episodes (`steve1 convert-contractor`).

For each selected index entry: download `.mp4` + `.jsonl` (streamed, resumable, retried), convert the steps
(`contractor_actions`), decode the video once (GUI cursor drawn, BGR->RGB, 128x128 policy frames and 256x160
MineCLIP frames, both INTER_LINEAR), embed with MineCLIP in chunks, and write the episode atomically as
`contractor_<v>_<idx>_contractor_nmFrm<N>_term` with metadata {contractor_version, contractor_index, ...}.

Resuming: finished episodes are recognised by name and skipped; a killed conversion leaves only a hidden
partial directory that the next attempt deletes. Episodes skipped for a permanent reason (too short, corrupt,
missing) are recorded in `<output_dir>/.contractor_skipped_<v>.jsonl` and not retried unless
`--retry-skipped`. Differences from the original (each kept sound data that it threw away):
- truncated/invalid `.jsonl` line: steps before it are kept (original: episode discarded);
- video shorter than the `.jsonl`: the steps with frames are kept and the rest reported (original: silently);
- GUI cursor partly off-screen: clipped (original: shape error, episode discarded);
- camera truncation to whole degrees is kept by default; `--exact-camera` stores the exact degrees.
Counts of every outcome are returned and printed.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from steve1.cli_config import NothingProduced, UsageError, check, report, run_verb, settings_field
from steve1.cluster.runtime import LOCAL, use_ray
from steve1.data.contractor_actions import ContractorDataError, ConvertedSteps, convert_steps, read_jsonl
from steve1.data.contractor_index import INDEX_URLS, ContractorIndex, load_index, select_indices
from steve1.data.cursor import composite_cursor, cursor_position, load_cursor
from steve1.data.download import DownloadError, DownloadNotFound, download_file, remove_tree
from steve1.data.embedding import (
    CHUNK_FRAMES,
    MINECLIP_FRAME_HW,
    EmbedFn,
    StreamingEmbedder,
    default_device,
    embed_fn_for,
)
from steve1.data.episode import FRAME_SIZE, EpisodeWriter, find_episode, remove_stale_partials
from steve1.data.episode_names import CONTRACTOR_NAME_SEP, contractor_episode_name, contractor_key
from steve1.utils.checks import check_writable_dir
from steve1.utils.frames import resize_linear
from steve1.utils.run_record import DATASET_RECORD, check_or_record, discard_new_record

log = logging.getLogger("steve1.data")

DEFAULT_MIN_TIMESTEPS = 1000


@dataclass
class EpisodeReport:
    index: int
    status: str  # converted | already_done | too_short | corrupt | missing | download_failed | skipped_before
    num_frames: int = 0
    dropped: list[str] = field(default_factory=list)
    message: str = ""


@dataclass
class ConversionStats:
    converted: int = 0
    already_done: int = 0
    too_short: int = 0
    corrupt: int = 0
    missing: int = 0
    download_failed: int = 0
    skipped_before: int = 0
    frames: int = 0
    seconds: float = 0.0

    def add(self, r: EpisodeReport) -> None:
        setattr(self, r.status, getattr(self, r.status) + 1)
        self.frames += r.num_frames


def convert_video(
    video_path: str | Path, steps: ConvertedSteps, writer: EpisodeWriter, embed_fn: EmbedFn,
    chunk_frames: int | None = None, cursor_png: str | None = None,
) -> tuple[int, list[str]]:
    """Decode the video once, writing kept frames + embeddings to `writer`; returns (frames, drop notes)."""
    chunk_frames = chunk_frames or CHUNK_FRAMES
    cursor_img, cursor_alpha = load_cursor(cursor_png)
    cap = cv2.VideoCapture(str(video_path))
    if not cap.isOpened():
        raise ContractorDataError(f"{video_path}: cannot open the video (corrupt or not an mp4)")
    embedder = StreamingEmbedder(embed_fn)
    policy_buf: list[np.ndarray] = []
    clip_buf: list[np.ndarray] = []
    written = 0
    notes: list[str] = []

    def flush() -> None:
        nonlocal written
        if not policy_buf:
            return
        writer.add_frames(np.stack(policy_buf))  # (n, 128, 128, 3)
        writer.add_embeds(embedder.push(np.stack(clip_buf)))  # (n, 160, 256, 3) in
        written += len(policy_buf)
        policy_buf.clear()
        clip_buf.clear()

    try:
        kept = steps.kept
        last_needed = int(kept[-1]) if len(kept) else -1
        k = 0  # position in kept
        for step_idx in range(last_needed + 1):
            if k < len(kept) and kept[k] == step_idx:
                ok, frame = cap.read()  # (360, 640, 3) BGR
            else:
                ok, frame = cap.grab(), None  # null step: advance the video without converting
            if not ok:
                notes.append(
                    f"video ends at frame {step_idx}; {len(kept) - k} kept steps after it have no frame"
                )
                break
            if frame is None:
                continue
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise ContractorDataError(f"{video_path}: frames have shape {frame.shape}, not (H, W, 3)")
            if steps.gui_open[k]:
                x, y = cursor_position(*steps.mouse_xy[k], frame.shape[0])
                composite_cursor(frame, cursor_img, cursor_alpha, x, y)
            cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=frame)
            clip_buf.append(resize_linear(frame, MINECLIP_FRAME_HW))
            policy_buf.append(resize_linear(frame, (FRAME_SIZE, FRAME_SIZE)))
            k += 1
            if len(policy_buf) >= chunk_frames:
                flush()
        flush()
    finally:
        cap.release()
    if written == 0 and len(kept):
        raise ContractorDataError(f"{video_path}: no frame could be decoded (corrupt video)")
    writer.add_actions(steps.actions[:written])
    return written, notes


def _ledger_path(output_dir: Path, version: str) -> Path:
    return output_dir / f".contractor_skipped_{version.replace('.', '_')}.jsonl"


def _read_ledger(output_dir: Path, version: str) -> set[int]:
    path = _ledger_path(output_dir, version)
    done: set[int] = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                done.add(int(json.loads(line)["index"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a kill: ignore it
    return done


def _append_ledger(output_dir: Path, version: str, report: EpisodeReport) -> None:
    line = json.dumps({"index": report.index, "status": report.status, "message": report.message[:300]})
    with open(_ledger_path(output_dir, version), "a") as f:  # append: small whole lines, worker-safe
        f.write(line + "\n")


def convert_episode(
    index: ContractorIndex, idx: int, output_dir: Path, cache_dir: Path, embed_fn: EmbedFn,
    min_timesteps: int = DEFAULT_MIN_TIMESTEPS, exact_camera: bool = False, retries: int = 5,
    keep_cache: bool = False,
) -> EpisodeReport:
    """Download and convert one index entry; never raises for bad data (the report says what happened).

    The download cache of the entry is deleted once the entry is decided; it is kept after a failed download
    or an interruption, so the next run resumes the partial files.
    """
    key = contractor_key(index.version, idx)
    if find_episode(output_dir, key, sep=CONTRACTOR_NAME_SEP) is not None:
        return EpisodeReport(idx, "already_done")
    cache = cache_dir / f"{index.version}_{idx}"
    report = _download_and_convert(index, idx, output_dir, cache, embed_fn, min_timesteps, exact_camera,
                                   retries)
    if not keep_cache and report.status != "download_failed":
        remove_tree(cache)
    return report


def _download_and_convert(
    index: ContractorIndex, idx: int, output_dir: Path, cache: Path, embed_fn: EmbedFn, min_timesteps: int,
    exact_camera: bool, retries: int,
) -> EpisodeReport:
    version = index.version
    try:
        jsonl_path = download_file(index.action_url(idx), cache / "action.jsonl", retries=retries)
        parsed = read_jsonl(jsonl_path)
        steps = convert_steps(parsed.steps, exact_camera=exact_camera)
        dropped = list(steps.notes)
        if parsed.bad_line is not None:
            dropped.append(
                f"jsonl line {parsed.bad_line} unreadable ({parsed.bad_reason}); dropped it and the "
                f"{parsed.num_dropped - 1} lines after it"
            )
        if len(steps.actions) < min_timesteps:  # decided before downloading the video
            return EpisodeReport(idx, "too_short", 0, dropped,
                                 f"{len(steps.actions)} non-null steps < min_timesteps {min_timesteps}")
        video_path = download_file(index.video_url(idx), cache / "video.mp4", retries=retries)
        with EpisodeWriter(output_dir, key=contractor_key(version, idx)) as writer:
            n, notes = convert_video(video_path, steps, writer, embed_fn)
            dropped += notes
            if n < min_timesteps:
                return EpisodeReport(idx, "too_short", 0, dropped, f"{n} frames < {min_timesteps}")
            metadata = {
                "contractor_version": version,
                "contractor_index": idx,
                "relpath": index.relpaths[idx],
                "camera": "exact" if exact_camera else "truncated",
                "dropped": dropped,
            }
            writer.finish(contractor_episode_name(version, idx, n), metadata)
        return EpisodeReport(idx, "converted", n, dropped)
    except DownloadNotFound as e:
        return EpisodeReport(idx, "missing", message=str(e))
    except DownloadError as e:
        return EpisodeReport(idx, "download_failed", message=str(e))
    except ContractorDataError as e:
        return EpisodeReport(idx, "corrupt", message=str(e))


def convert_contractor(
    version: str, output_dir: str | Path, cache_dir: str | Path, embed_fn: EmbedFn, worker_id: int = 0,
    num_episodes: int | None = 200, num_workers: int | None = None,
    min_timesteps: int = DEFAULT_MIN_TIMESTEPS, exact_camera: bool = False, index_url: str | None = None,
    retry_skipped: bool = False, retries: int = 5, progress: bool = True,
) -> ConversionStats:
    """Convert this worker's share of one contractor index; returns counts of every outcome."""
    from tqdm import tqdm

    t0 = time.time()
    output_dir, cache_dir = Path(output_dir), Path(cache_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(output_dir)
    index = load_index(version, cache_dir, index_url=index_url)
    todo = select_indices(len(index), worker_id, num_episodes, num_workers)
    skipped_before = set() if retry_skipped else _read_ledger(output_dir, version)
    stats = ConversionStats()
    bar = tqdm(todo, desc=f"contractor {version} w{worker_id}", unit="ep", disable=not progress)
    for idx in bar:
        if idx in skipped_before:
            report = EpisodeReport(idx, "skipped_before")
        else:
            report = convert_episode(index, idx, output_dir, cache_dir, embed_fn, min_timesteps, exact_camera,
                                     retries)
            if report.status in ("too_short", "corrupt", "missing"):
                _append_ledger(output_dir, version, report)
        stats.add(report)
        if report.status not in ("converted", "already_done", "skipped_before"):
            tqdm.write(f"[{version} #{idx}] {report.status}: {report.message}")
        elif report.dropped:
            dropped = "; ".join(report.dropped)
            tqdm.write(f"[{version} #{idx}] kept {report.num_frames} frames; dropped: {dropped}")
        bar.set_postfix(ok=stats.converted, done=stats.already_done, short=stats.too_short,
                        bad=stats.corrupt + stats.missing + stats.download_failed)
    stats.seconds = time.time() - t0
    return stats


@dataclass
class ConvertSettings:
    """VPT contractor recordings (.mp4 + .jsonl) -> STEVE-1 episodes with MineCLIP embeddings."""

    index: str = settings_field(default="10.x", choices=sorted(INDEX_URLS))
    """contractor data version"""
    index_url: str | None = None
    """read the index from this URL instead (http(s):// or file://)"""
    output_dir: str = "data/dataset_contractor/"
    """where the episodes go"""
    cache_dir: str = "data/contractor_cache"
    """where downloads are kept while an episode is converted"""
    batch_size: int = 8
    """MineCLIP windows per forward pass"""
    worker_id: int = 0
    """this worker's number (0-based)"""
    num_workers: int | None = None
    """split the index round-robin over this many workers (default: the original's block scheme)"""
    num_episodes: int | None = 200
    """episodes per worker (none: all; needs --num-workers)"""
    min_timesteps: int = DEFAULT_MIN_TIMESTEPS
    """shorter episodes are skipped"""
    exact_camera: bool = False
    """store exact camera degrees (float32), not the original's whole degrees"""
    mineclip_weights: str = "data/weights/mineclip/attn.pth"
    """MineCLIP weights (for --mineclip-config attn)"""
    mineclip_config: str = settings_field(default="attn", alias=["--mineclip"])
    """attn: the released MineCLIP; tiny: random tiny MineCLIP (smoke tests); fake: no model, colour means;
    or a MineCLIP checkpoint of ours (train-mineclip)"""
    mineclip_dtype: str = settings_field(default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    """auto: float16 autocast on CUDA as the original, float32 on CPU"""
    device: str = default_device()
    """torch device of MineCLIP"""
    retry_skipped: bool = False
    """retry episodes skipped before"""
    retries: int = 5
    """download retries per file"""
    no_progress: bool = False
    """no progress bar (counts are still reported)"""
    ray: str | None = settings_field(default=None, nargs="?", const=LOCAL)
    """each episode a Ray task: --ray (a local Ray) or --ray ADDRESS (a cluster); default: STEVE1_RAY"""

    def __post_init__(self):
        check(self.num_episodes is None or self.num_episodes >= 1,
              f"--num-episodes must be >= 1 (or none: all), got {self.num_episodes}")
        check(self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}")
        check(self.worker_id >= 0, f"--worker-id must be >= 0, got {self.worker_id}")
        if self.num_workers is not None:
            check(self.num_workers >= 1, f"--num-workers must be >= 1, got {self.num_workers}")
            check(self.worker_id < self.num_workers,
                  f"--worker-id {self.worker_id} must be < --num-workers {self.num_workers}")
        check(self.min_timesteps >= 1, f"--min-timesteps must be >= 1, got {self.min_timesteps}")
        check(self.retries >= 0, f"--retries must be >= 0, got {self.retries}")


OUTPUT_SETTINGS = ("min_timesteps", "exact_camera", "mineclip_config")  # what shapes every episode


def run(args: ConvertSettings) -> int:
    """Exit status 0 if an episode is (or already was) converted, or this worker had nothing to do; 1 if no
    episode could be converted (all corrupt, missing, too short or skipped before: nothing was produced)."""
    check_writable_dir(args.output_dir, "--output-dir")
    check_writable_dir(args.cache_dir, "--cache-dir")
    on_ray = use_ray(args.ray)  # each Ray worker loads MineCLIP itself
    embed_fn = None if on_ray else embed_fn_for(args.mineclip_config, args.mineclip_weights, args.device,
                                                args.batch_size, args.mineclip_dtype)
    settings = {k: getattr(args, k) for k in OUTPUT_SETTINGS}  # checked once MineCLIP loaded
    was_there = check_or_record(args.output_dir, settings, redo_flag=None, name=DATASET_RECORD)
    try:
        if on_ray:
            from steve1.cluster.convert import convert_on_ray

            stats = convert_on_ray(args)
        else:
            stats = convert_contractor(
                args.index, args.output_dir, args.cache_dir, embed_fn, args.worker_id, args.num_episodes,
                args.num_workers, args.min_timesteps, args.exact_camera, args.index_url, args.retry_skipped,
                args.retries, progress=not args.no_progress,
            )
    except ValueError as err:
        raise UsageError(str(err)) from None
    report(json.dumps({"index": args.index, "worker_id": args.worker_id, **asdict(stats)}))
    tried = stats.corrupt + stats.missing + stats.download_failed + stats.too_short + stats.skipped_before
    if stats.converted + stats.already_done == 0:
        discard_new_record(args.output_dir, was_there, DATASET_RECORD)
        if tried:
            raise NothingProduced(f"none of the {tried} episode(s) could be converted (see the messages "
                                  f"above; episodes skipped before are retried with --retry-skipped)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(ConvertSettings, run, argv, verb="convert-contractor", config_prefix="convert")


if __name__ == "__main__":
    sys.exit(main())
