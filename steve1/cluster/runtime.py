"""The Ray runtime of a verb run with `--ray [ADDRESS]` (or the STEVE1_RAY environment variable).

    --ray              start a Ray on this machine (or join the one `ray start --head` began here)
    --ray ADDRESS      join an existing cluster (`ray start --head` printed the address: HOST:6379)
    STEVE1_RAY=...     the same without the flag: `local`, or an address

Ray is imported only by `connect()`, so a verb that is not asked to use Ray never loads it.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger("steve1.cluster")

RAY_ENV = "STEVE1_RAY"  # `local` or a cluster address: use Ray without passing --ray
LOCAL = "local"  # --ray without an address
OFF_WORDS = ("", "0", "off", "no", "false")
INSTALL_HINT = 'Ray is not installed; install the cluster extra: pip install -e ".[cluster]"'
TASK_CPUS = 1  # one episode (decode, resize, write) or one world per CPU
MODEL_GPU_FRACTION = 0.25  # a task with a model on CUDA takes a quarter of a GPU (4 share one)
MODEL_ACTOR_GPUS = 1  # the one actor that batches the agents' policy for every world takes a whole GPU


def ray_address(option: str | None) -> str | None:
    """What to connect to: the --ray value, else STEVE1_RAY; None: do not use Ray (the local path)."""
    value = option if option is not None else os.environ.get(RAY_ENV)
    if value is None or value.strip().lower() in OFF_WORDS:
        return None
    return value.strip()


def use_ray(option: str | None) -> bool:
    return ray_address(option) is not None


def connect(option: str | None):
    """Ray, initialised: joins the cluster at the address, or starts (or joins) one on this machine. A
    Ray already initialised in this process (e.g. `ray.init(num_cpus=2)` by a caller) is used as it is."""
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if ray.is_initialized():
        return ray
    address = ray_address(option)
    address = None if address in (None, LOCAL) else address  # None: Ray's own choice (RAY_ADDRESS, a
    # cluster started on this machine with `ray start --head`, else a new local instance)
    log.info("connecting to Ray at %s", address or "a new local instance")
    ray.init(address=address, log_to_driver=True, include_dashboard=False)
    log.info("Ray cluster resources: %s", ray.cluster_resources())
    return ray


def model_gpus(device: str) -> float:
    """GPU share a task declares for its models on `device` (none on the CPU)."""
    return MODEL_GPU_FRACTION if str(device).startswith("cuda") else 0.0
