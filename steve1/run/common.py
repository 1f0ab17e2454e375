"""Settings and set-up shared by the runners: models (released, your own or random weights), worlds, logging.

Option names are ours (`--policy`, `--weights`, ...); the original's names are accepted as aliases
(`--in_model`, `--in_weights`, `--prior_weights`, `--gameplay_length`, `--save_dirpath`, ...).
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from steve1 import paths
from steve1.agent.models import RANDOM_WEIGHTS_LABEL, AgentModels, load_agent_models
from steve1.cli_config import UsageError, settings_field
from steve1.cluster.runtime import LOCAL, use_ray
from steve1.envs import WORLD_NAMES, make_world
from steve1.envs.base import World
from steve1.utils.checks import check_float, check_int, check_writable_dir
from steve1.utils.threads import WORLD_TORCH_THREADS, set_torch_threads

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class ModelSettings:
    """The agent's models (released weights by default, or your own files by path) and where they run."""

    policy: str = settings_field(default=str(paths.VPT_MODEL), alias=["--in-model"])
    """VPT .model file, or a size: 1x, 2x, 3x, small, tiny; or 'minetest': the STEVE-1 shipped with the
    package, trained on the embedded world (its own weights, MineCLIP and prior; no download)"""
    weights: str = settings_field(default=str(paths.STEVE1_WEIGHTS), alias=["--in-weights"])
    """STEVE-1 policy weights (the released file, or your own `steve1 train` output)"""
    mineclip: str = "attn"
    """MineCLIP: attn (released), minetest (shipped), tiny, reduced, or a checkpoint of ours"""
    mineclip_weights: str = str(paths.MINECLIP_WEIGHTS)
    """MineCLIP weights (read only for --mineclip attn)"""
    prior_weights: str = str(paths.PRIOR_WEIGHTS)
    """CVAE prior weights (the released file, or your own `steve1 train-prior` output)"""
    random_weights: bool = False
    """build the models with random weights (no files read): for tests and demos only; logs and videos
    are labelled RANDOM WEIGHTS"""
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    """torch device of the models"""
    dtype: str = settings_field(default="fp32", choices=sorted(DTYPES))
    """policy precision (autocast); the original ran fp16 autocast on GPU"""
    seed: int = 0
    """seeds the prior samples, the action sampling and (as base) the world seeds"""
    threads: int = WORLD_TORCH_THREADS
    """torch CPU threads of the models (the worlds' games use the other cores; 0: torch's default)"""


@dataclass
class WorldSettings:
    """The world the agent plays in."""

    world: str = settings_field(default="minetest", choices=list(WORLD_NAMES))
    """minetest (embedded, default) or minerl / minestudio (real Minecraft, if installed)"""
    max_retries: int = 2
    """re-runs of an episode whose world crashed"""
    fast: bool = False
    """Minetest only: the world's fast preset (smaller render, shorter view; what gen-mixed-agents --fast
    recorded the Minetest-trained models' data with)"""


@dataclass
class BatchedWorldSettings(WorldSettings):
    n_worlds: int = 1
    """worlds stepped together in one batch"""
    ray: str | None = settings_field(default=None, nargs="?", const=LOCAL)
    """worlds as Ray actors: --ray (a local Ray) or --ray ADDRESS (a cluster); default: STEVE1_RAY"""


def check_run_settings(args) -> None:
    """The runners' shared settings, checked before any model loads or world starts (one-line errors)."""
    for name in ("steps", "episodes", "n_worlds", "max_steps"):
        if getattr(args, name, None) is not None:
            check_int(getattr(args, name), "--" + name.replace("_", "-"), minimum=1)
    for name in ("max_retries", "threads"):
        if getattr(args, name, None) is not None:
            check_int(getattr(args, name), "--" + name.replace("_", "-"), minimum=0)
    for name in ("cond_scale", "text_cond_scale", "visual_cond_scale"):
        if getattr(args, name, None) is not None:
            check_float(getattr(args, name), "--" + name.replace("_", "-"))
    if getattr(args, "fps", None) is not None:
        check_float(args.fps, "--fps", minimum=0, strictly=True)
    if getattr(args, "out_dir", None) is not None:
        check_writable_dir(args.out_dir, "--out-dir")
    if getattr(args, "fast", False) and getattr(args, "world", "minetest") != "minetest":
        raise UsageError(f"--fast is a Minetest world preset; --world {args.world} has none")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_models(args) -> AgentModels:
    set_torch_threads(getattr(args, "threads", 0))
    return load_agent_models(
        policy=args.policy, policy_weights=args.weights, mineclip=args.mineclip,
        mineclip_weights=args.mineclip_weights, prior_weights=args.prior_weights,
        random_weights=args.random_weights, device=args.device, seed=args.seed)


def banner(models: AgentModels) -> str | None:
    """Text drawn on every frame: RANDOM WEIGHTS when the models are not the released ones."""
    return RANDOM_WEIGHTS_LABEL if models.random_weights else None


def world_factory(args) -> Callable[[int], World]:
    name = args.world
    kwargs = {"fast": True} if getattr(args, "fast", False) else {}
    if use_ray(getattr(args, "ray", None)):  # a world per Ray actor; the policy stays here (steve1.cluster)
        from steve1.cluster.worlds import remote_world_factory

        return remote_world_factory(name, kwargs=kwargs or None, ray_option=args.ray)
    return lambda slot: make_world(name, **kwargs)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


FILE_NAME_BYTES = 100  # a prompt's part of a file name; with the hash, suffixes and temp names < 255 bytes
NAME_HASH_CHARS = 8


def safe_file_name(text: str, limit: int = FILE_NAME_BYTES) -> str:
    """A prompt made usable as a file name: no path separators or control characters, at most `limit` bytes
    of UTF-8. A prompt that had to be changed (cut or characters replaced) gets `-` and 8 hex characters of
    the SHA-1 of the whole prompt, so two prompts never share a name; a short plain prompt stays as it is."""
    name = re.sub(r"[/\\\x00-\x1f]", "_", text).strip()
    cut = name.encode("utf-8")[:limit].decode("utf-8", "ignore").rstrip()
    if cut == text and cut and not cut.startswith("."):
        return cut
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:NAME_HASH_CHARS]
    return f"{cut.lstrip('.')}-{digest}" if cut.lstrip(".") else digest


def check_positive(value: int, what: str) -> int:
    return check_int(value, what, minimum=1)


def existing(path: Path) -> bool:
    return Path(path).is_file() and Path(path).stat().st_size > 0
