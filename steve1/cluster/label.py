"""`steve1 label-video --ray`: every video is a Ray task (`label_video`, the local path's function), the IDM
and MineCLIP loaded once per worker. This worker's shard (--worker-id/--num-workers) is split as locally;
videos whose episode exists are skipped before they are submitted."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2

from steve1.cluster.runtime import TASK_CPUS, connect, model_gpus
from steve1.cluster.tasks import JobLost, run_tasks, worker_model
from steve1.data.episode import find_episode
from steve1.idm.label import (
    NAME_SEP,
    LabelSettings,
    LabelStats,
    episode_key,
    label_video,
    list_videos,
    load_models,
    make_predict_fn,
    shard,
)
from steve1.idm.windows import WindowPolicy
from steve1.utils.video import VideoError

log = logging.getLogger("steve1.cluster")

MODEL_SETTINGS = ("idm_model", "idm_weights", "mineclip_config", "mineclip_weights", "device", "dtype",
                  "threads")  # what the models a worker loads depend on


def label_task(video: str, args: LabelSettings, policy: WindowPolicy, metadata: dict) -> tuple[str, object]:
    """Label one video in a Ray worker: ("labelled", frames), ("already_done", 0) or ("failed", message)."""
    key = ("label", *(getattr(args, k) for k in MODEL_SETTINGS))
    model, embed_fn = worker_model(key, lambda: load_models(args))
    path = Path(video)
    try:
        episode = label_video(path, Path(args.output_dir), episode_key(path, Path(args.video_dir)),
                              make_predict_fn(model), embed_fn, model.config.img_size, policy,
                              args.batch_windows, metadata, target_fps=args.target_fps, log=log.info)
    except (VideoError, cv2.error) as e:
        return "failed", str(e)
    except FileExistsError:  # a second run of this task finished it first (a worker thought lost)
        return "already_done", 0
    return "labelled", int(episode.name.rsplit(NAME_SEP, 1)[1])


def label_on_ray(args: LabelSettings, policy: WindowPolicy, metadata: dict) -> LabelStats:
    connect(args.ray)
    t0 = time.perf_counter()
    video_dir, output_dir = Path(args.video_dir), Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    videos = shard(list_videos(video_dir), args.worker_id, args.num_workers)
    stats = LabelStats(videos=len(videos))
    todo = []
    for video in videos:
        if find_episode(output_dir, episode_key(video, video_dir), sep=NAME_SEP) is not None:
            stats.already_done += 1
        else:
            todo.append(str(video))
    for video, result in run_tasks(label_task, todo, shared=(args, policy, metadata), num_cpus=TASK_CPUS,
                                   num_gpus=model_gpus(args.device)):
        status, value = ("failed", f"{video}: Ray worker lost: {result.message}") \
            if isinstance(result, JobLost) else result
        if status == "labelled":
            stats.labelled += 1
            stats.frames += value
        elif status == "already_done":
            stats.already_done += 1
        else:
            stats.failed += 1
            log.warning("skipped: %s", value)
    stats.seconds = time.perf_counter() - t0
    if stats.failed:
        log.warning("%d of %d video(s) could not be labelled (see the messages above)", stats.failed,
                    stats.videos)
    return stats
