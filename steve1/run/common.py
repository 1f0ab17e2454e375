"""Settings and set-up shared by the runners: models (released, your own or random weights), worlds, logging.

Option names are ours (`--policy`, `--weights`, ...); the original's names are accepted as aliases
(`--in_model`, `--in_weights`, `--prior_weights`, `--gameplay_length`, `--save_dirpath`, ...).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from steve1 import paths
from steve1.agent.models import RANDOM_WEIGHTS_LABEL, AgentModels, load_agent_models
from steve1.cli_config import check, settings_field
from steve1.envs import WORLD_NAMES, make_world
from steve1.envs.base import World

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class ModelSettings:
    """The agent's models (released weights by default, or your own files by path) and where they run."""

    policy: str = settings_field(default=str(paths.VPT_MODEL), alias=["--in-model"])
    """VPT .model file, or a size: 1x, 2x, 3x, tiny"""
    weights: str = settings_field(default=str(paths.STEVE1_WEIGHTS), alias=["--in-weights"])
    """STEVE-1 policy weights (the released file, or your own `steve1 train` output)"""
    mineclip: str = "attn"
    """MineCLIP config: attn (released), tiny, reduced"""
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


@dataclass
class WorldSettings:
    """The world the agent plays in."""

    world: str = settings_field(default="minetest", choices=list(WORLD_NAMES))
    """minetest (embedded, default) or minerl / minestudio (real Minecraft, if installed)"""
    max_retries: int = 2
    """re-runs of an episode whose world crashed"""


@dataclass
class BatchedWorldSettings(WorldSettings):
    n_worlds: int = 1
    """worlds stepped together in one batch"""


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_models(args) -> AgentModels:
    return load_agent_models(
        policy=args.policy, policy_weights=args.weights, mineclip=args.mineclip,
        mineclip_weights=args.mineclip_weights, prior_weights=args.prior_weights,
        random_weights=args.random_weights, device=args.device, seed=args.seed)


def banner(models: AgentModels) -> str | None:
    """Text drawn on every frame: RANDOM WEIGHTS when the models are not the released ones."""
    return RANDOM_WEIGHTS_LABEL if models.random_weights else None


def world_factory(args) -> Callable[[int], World]:
    name = args.world
    return lambda slot: make_world(name)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def safe_file_name(text: str, limit: int = 120) -> str:
    """A prompt made usable as a file name (no path separators or control characters)."""
    name = re.sub(r"[/\\\x00-\x1f]", "_", text).strip()
    return name[:limit] or "_"


def check_positive(value: int, what: str) -> int:
    check(value >= 1, f"{what} must be >= 1, got {value}")
    return value


def existing(path: Path) -> bool:
    return Path(path).is_file() and Path(path).stat().st_size > 0
