"""`steve1 convert-contractor --ray`: every contractor episode is a Ray task.

The driver loads the index, drops the episodes that are finished or were skipped before, and submits the
rest; each task downloads, converts, embeds and writes its episode with `convert_episode` (the local path's
function), MineCLIP loaded once per worker. The driver alone appends to the skipped-episodes ledger. The
output and cache folders must be on storage every node sees (a shared filesystem).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from steve1.cluster.runtime import TASK_CPUS, connect, model_gpus
from steve1.cluster.tasks import JobLost, run_tasks, worker_model
from steve1.data.contractor_index import ContractorIndex, load_index, select_indices
from steve1.data.convert_contractor import (
    ConversionStats,
    ConvertSettings,
    EpisodeReport,
    _append_ledger,
    _read_ledger,
    convert_episode,
)
from steve1.data.episode import find_episode, remove_stale_partials
from steve1.data.episode_names import CONTRACTOR_NAME_SEP, contractor_key

log = logging.getLogger("steve1.cluster")

LEDGER_STATUSES = ("too_short", "corrupt", "missing")  # permanent: not retried unless --retry-skipped


def _embed_fn(args: ConvertSettings):
    from steve1.data.embedding import embed_fn_for

    spec = (args.mineclip_config, args.mineclip_weights, args.device, args.batch_size, args.mineclip_dtype)
    return worker_model(("convert", *spec), lambda: embed_fn_for(*spec))


def convert_task(idx: int, index: ContractorIndex, args: ConvertSettings) -> EpisodeReport:
    """One contractor episode, in a Ray worker."""
    try:
        return convert_episode(index, idx, Path(args.output_dir), Path(args.cache_dir), _embed_fn(args),
                               args.min_timesteps, args.exact_camera, args.retries)
    except FileExistsError:  # a second run of this task finished it first (a worker thought lost)
        return EpisodeReport(idx, "already_done")


def convert_on_ray(args: ConvertSettings, task=convert_task) -> ConversionStats:
    """This worker's share of the index (--worker-id, --num-workers, --num-episodes as locally) as tasks."""
    connect(args.ray)
    t0 = time.time()
    output_dir, cache_dir = Path(args.output_dir), Path(args.cache_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(output_dir)
    index = load_index(args.index, cache_dir, index_url=args.index_url)
    todo = select_indices(len(index), args.worker_id, args.num_episodes, args.num_workers)
    skipped_before = set() if args.retry_skipped else _read_ledger(output_dir, index.version)
    stats = ConversionStats()
    jobs = []
    for idx in todo:
        if idx in skipped_before:
            stats.add(EpisodeReport(idx, "skipped_before"))
        elif find_episode(output_dir, contractor_key(index.version, idx), CONTRACTOR_NAME_SEP) is not None:
            stats.add(EpisodeReport(idx, "already_done"))
        else:
            jobs.append(idx)
    for idx, report in run_tasks(task, jobs, shared=(index, args), num_cpus=TASK_CPUS,
                                 num_gpus=model_gpus(args.device)):
        if isinstance(report, JobLost):
            report = EpisodeReport(idx, "download_failed", message=f"Ray worker lost: {report.message}")
        if report.status in LEDGER_STATUSES:
            _append_ledger(output_dir, index.version, report)
        stats.add(report)
        if report.status not in ("converted", "already_done"):
            log.warning("[%s #%d] %s: %s", index.version, idx, report.status, report.message)
        elif report.dropped:
            log.info("[%s #%d] kept %d frames; dropped: %s", index.version, idx, report.num_frames,
                     "; ".join(report.dropped))
    stats.seconds = time.time() - t0
    return stats
