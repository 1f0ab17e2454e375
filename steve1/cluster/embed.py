"""`steve1 embed --ray`: every episode to re-embed is a Ray task (`reembed_episode`, the local path's
function), MineCLIP loaded once per worker. An episode whose worker died on every try keeps its old
embeddings and record, so a rerun embeds it (the others are skipped as locally)."""
from __future__ import annotations

import logging
from pathlib import Path

from steve1.cluster.runtime import TASK_CPUS, connect, model_gpus
from steve1.cluster.tasks import JobLost, JobsLost, run_tasks, worker_model

log = logging.getLogger("steve1.cluster")


def _embedder(s, device: str):
    def build():
        import torch

        from steve1.mineclip import MineClipEmbedder
        from steve1.mineclip.checkpoint import resolve_mineclip

        model, desc = resolve_mineclip(s.mineclip, s.mineclip_weights, device="cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32  # as the local path
        return MineClipEmbedder(model, device=device, dtype=dtype, batch_size=s.batch_size), desc

    return worker_model(("embed", s.mineclip, s.mineclip_weights, device, s.batch_size), build)


def embed_task(episode_dir: str, s, device: str, model_id: str) -> int:
    """Re-embed one episode in a Ray worker; returns its frames."""
    from steve1.data.reembed import reembed_episode

    embedder, desc = _embedder(s, device)
    return reembed_episode(embedder, Path(episode_dir), {"mineclip": desc, "model_id": model_id})


def embed_on_ray(s, todo: list[Path], device: str, model_id: str) -> int:
    """Re-embed `todo` (episode folders) as Ray tasks (`s`: EmbedSettings); returns the frames embedded."""
    connect(s.ray)
    frames, lost = 0, []
    for episode_dir, result in run_tasks(embed_task, [str(d) for d in todo], shared=(s, device, model_id),
                                         num_cpus=TASK_CPUS, num_gpus=model_gpus(device)):
        if isinstance(result, JobLost):
            lost.append(episode_dir)
        else:
            frames += result
    if lost:
        raise JobsLost(f"{len(lost)} episode(s) were not embedded (their Ray workers died on every try), "
                       f"e.g. {lost[0]}; rerun the same command to embed them")
    return frames
