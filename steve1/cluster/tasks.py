"""Episode jobs as Ray tasks: each job is one task with declared resources, retried when its worker dies.

    for job, result in run_tasks(convert_one, jobs, shared=(index,), num_gpus=0.25):
        ...   # in completion order; every job once

A task writes its episode itself, through the same atomic episode writer as the local path (a hidden partial
directory renamed into place when complete), so a worker killed mid-write leaves nothing that looks
finished, and its retry deletes that partial (a writer for a key removes the key's leftovers) and writes the
episode again: nothing is lost and nothing is written twice. Jobs whose output is already there are skipped
by the caller before they are submitted (resuming works as locally).

Models are loaded once per worker process (`worker_model`) and kept for the worker's next tasks.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

from steve1.cluster.runtime import TASK_CPUS

log = logging.getLogger("steve1.cluster")

TASK_RETRIES = 3  # a task whose worker died (killed, out of memory, node lost) is run again this often
_MODELS: dict[Hashable, Any] = {}  # per worker process: key -> loaded model


class JobsLost(OSError):
    """Some jobs' workers died on every try; their outputs are not there, and a rerun makes them."""


class JobLost:
    """The result of a job whose worker died more often than it was retried (or whose node was lost)."""

    def __init__(self, message: str):
        self.message = message

    def __repr__(self) -> str:
        return f"JobLost({self.message!r})"


def worker_model(key: Hashable, build: Callable[[], Any]) -> Any:
    """The model for `key` in this worker process, built on first use."""
    if key not in _MODELS:
        _MODELS[key] = build()
    return _MODELS[key]


def run_tasks(fn: Callable, jobs: Sequence, shared: tuple = (), num_cpus: float = TASK_CPUS,
              num_gpus: float = 0.0, max_retries: int = TASK_RETRIES) -> Iterator[tuple[Any, Any]]:
    """Run `fn(job, *shared)` for every job as a Ray task; yield (job, result) as each finishes.

    `shared` values are put in the object store once (not copied per task). An exception raised by `fn`
    itself is re-raised here (the job's code is wrong, or its input: a retry would fail again); a worker
    that dies is retried up to `max_retries` times by Ray, and after that its result is a `JobLost`."""
    import ray

    remote = ray.remote(fn).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=max_retries,
                                    retry_exceptions=False)
    refs_shared = [ray.put(v) for v in shared]
    pending = {remote.remote(job, *refs_shared): job for job in jobs}
    log.info("%d job(s) submitted to Ray (%g CPU, %g GPU each)", len(pending), num_cpus, num_gpus)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                job = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError:
                    raise  # fn raised: also an instance of the original exception's class
                except ray.exceptions.RayError as err:  # the worker (or its node) died on every try
                    log.error("job %s lost after %d retries: %s", job, max_retries, err)
                    result = JobLost(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
                yield job, result
    finally:
        for ref in pending:  # the caller stopped early (an error, Ctrl-C): cancel what is left
            ray.cancel(ref, force=True)
