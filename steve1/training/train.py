"""Entry point of policy training:

    accelerate launch [accelerate flags] -m steve1.training.train --config paper [--key value ...]

Any field of `TrainConfig` can be overridden on the command line (`--batch_size 8`, `--wandb true`,
`--in_weights none`). With no accelerate config the same command runs on one CPU or GPU.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import typing

from steve1.training.config import TrainConfig, load_config
from steve1.utils.cli import check_writable_dir, check_writable_file, run_verb


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(argparse.ArgumentParser(prog="steve1.training.train", description=__doc__,
                                                 formatter_class=argparse.RawDescriptionHelpFormatter))


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--config", default="paper", help="tiny | small | paper | path to a train_*.yaml")
    hints = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        if field.name == "extra":
            continue
        parser.add_argument(f"--{field.name}", default=argparse.SUPPRESS, metavar=field.name.upper(),
                            help=f"override ({hints[field.name]})")
    return parser


def check_outputs(cfg: TrainConfig) -> None:
    """The checkpoint folder and the weights' folder can be written (before any data is read)."""
    check_writable_dir(cfg.checkpoint_dir, "checkpoint_dir")
    check_writable_file(cfg.out_weights, "out_weights")


def run(args: argparse.Namespace) -> int:
    overrides = vars(args)
    cfg = load_config(overrides.pop("config"), **overrides)
    check_outputs(cfg)
    from steve1.training.trainer import train

    result = train(cfg)
    print(f"done: {result.n_steps} chunks, {result.n_updates} updates, {result.frames} frames, "
          f"best val loss {result.best_val_loss:.4f}, weights {result.out_weights}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb("steve1.training.train", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
