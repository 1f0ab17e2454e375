"""Arguments and set-up shared by the runners: models (released or random weights), worlds, logging.

Option names are ours (`--policy`, `--weights`, ...); the original's names are accepted as aliases
(`--in_model`, `--in_weights`, `--prior_weights`, `--gameplay_length`, `--save_dirpath`, ...).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from steve1 import paths
from steve1.agent.models import RANDOM_WEIGHTS_LABEL, AgentModels, load_agent_models
from steve1.envs import WORLD_NAMES, make_world
from steve1.envs.base import World
from steve1.utils.cli import check_float, check_int, check_writable_dir, one_line, run_verb

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("models")
    g.add_argument("--policy", "--in_model", default=str(paths.VPT_MODEL),
                   help="VPT .model file, or a size: 1x, 2x, 3x, tiny (default: %(default)s)")
    g.add_argument("--weights", "--in_weights", default=str(paths.STEVE1_WEIGHTS),
                   help="STEVE-1 policy weights (default: %(default)s)")
    g.add_argument("--mineclip", default="attn",
                   help="MineCLIP: attn (released), tiny, reduced, or a checkpoint of ours (train-mineclip)")
    g.add_argument("--mineclip-weights", default=str(paths.MINECLIP_WEIGHTS))
    g.add_argument("--prior-weights", "--prior_weights", default=str(paths.PRIOR_WEIGHTS))
    g.add_argument("--random-weights", action="store_true",
                   help="build the models with random weights (no files read): for tests and demos only; "
                        "logs and videos are labelled RANDOM WEIGHTS")
    g.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    g.add_argument("--dtype", choices=sorted(DTYPES), default="fp32",
                   help="policy precision (autocast); the original ran fp16 autocast on GPU")
    g.add_argument("--seed", type=int, default=0,
                   help="seeds the prior samples, the action sampling and (as base) the world seeds")


def add_world_arguments(parser: argparse.ArgumentParser, n_worlds: bool = True) -> None:
    g = parser.add_argument_group("world")
    g.add_argument("--world", choices=WORLD_NAMES, default="minetest",
                   help="minetest (embedded, default) or minerl / minestudio (real Minecraft, if installed)")
    if n_worlds:
        g.add_argument("--n-worlds", type=int, default=1, help="worlds stepped together in one batch")
    g.add_argument("--max-retries", type=int, default=2, help="re-runs of an episode whose world crashed")


def parse_and_run(
    prog: str, doc: str | None, add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int], argv: list[str] | None,
) -> int:
    """A runner's `main`: build its parser (`prog`, module docstring as help), parse `argv`, check the
    shared arguments (`check_run_arguments`), call `run`; user errors end as one line and exit status 2."""
    return run_verb(prog, doc, add_arguments, run, argv, check=check_run_arguments)


def check_run_arguments(args: argparse.Namespace) -> None:
    """The runners' shared options, checked before any model loads or world starts (ValueError)."""
    for name in ("steps", "episodes", "n_worlds", "max_steps"):
        if getattr(args, name, None) is not None:
            check_int(getattr(args, name), "--" + name.replace("_", "-"), minimum=1)
    if getattr(args, "max_retries", None) is not None:
        check_int(args.max_retries, "--max-retries", minimum=0)
    for name in ("cond_scale", "text_cond_scale", "visual_cond_scale"):
        if getattr(args, name, None) is not None:
            check_float(getattr(args, name), "--" + name.replace("_", "-"))
    if getattr(args, "fps", None) is not None:
        check_float(args.fps, "--fps", minimum=0, strictly=True)
    if getattr(args, "out_dir", None) is not None:
        check_writable_dir(args.out_dir, "--out-dir")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_models(args: argparse.Namespace) -> AgentModels:
    return load_agent_models(
        policy=args.policy, policy_weights=args.weights, mineclip=args.mineclip,
        mineclip_weights=args.mineclip_weights, prior_weights=args.prior_weights,
        random_weights=args.random_weights, device=args.device, seed=args.seed)


def banner(models: AgentModels) -> str | None:
    """Text drawn on every frame: RANDOM WEIGHTS when the models are not the released ones."""
    return RANDOM_WEIGHTS_LABEL if models.random_weights else None


def world_factory(args: argparse.Namespace) -> Callable[[int], World]:
    name = args.world
    return lambda slot: make_world(name)


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


def friendly_errors(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Setup errors (missing weights, empty prompt, missing install) end the program with their message
    and exit status 2 instead of a traceback."""
    from steve1.agent.goals import GoalError
    from steve1.agent.models import MissingWeightsError

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (MissingWeightsError, GoalError, FileNotFoundError, ImportError) as err:
            logging.getLogger("steve1.run").error("%s", err)
            print(f"error: {one_line(err)}", file=sys.stderr)
            return 2

    wrapped.__doc__ = run.__doc__
    wrapped.__name__ = run.__name__
    return wrapped
