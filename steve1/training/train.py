"""Entry point of policy training (`steve1 train`, train/3_train.sh):

    accelerate launch [accelerate flags] -m steve1.cli train --config paper [--batch-size 8 ...]

Every setting has a flag (`steve1 train --help`); `--config tiny|small|paper` (shipped as
steve1/configs/train_<name>.yaml) or `--config FILE.yaml` gives the defaults that flags override (default:
paper). With no accelerate config the same command runs on one CPU or GPU.
"""
from __future__ import annotations

import sys

from steve1.cli_config import UsageError, report, run_verb
from steve1.training.config import CONFIG_PREFIX, TrainConfig
from steve1.utils.checks import check_writable_dir, check_writable_file


def check_outputs(cfg: TrainConfig) -> None:
    """The checkpoint folder and the weights' folder can be written (before any data is read)."""
    check_writable_dir(cfg.checkpoint_dir, "--checkpoint-dir")
    check_writable_file(cfg.out_weights, "--out-weights")


def run(cfg: TrainConfig) -> int:
    check_outputs(cfg)
    from steve1.training.trainer import train

    try:
        result = train(cfg)
    except (ValueError, FileExistsError) as err:  # settings that do not fit the data, a checkpoint in the way
        raise UsageError(str(err)) from None
    report(f"done: {result.n_steps} chunks, {result.n_updates} updates, {result.frames} frames, "
           f"best val loss {result.best_val_loss:.4f}, weights {result.out_weights}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--config" or a.startswith("--config=") for a in argv) and "-h" not in argv \
            and "--help" not in argv:
        argv = ["--config", "paper", *argv]  # the paper's settings unless another config is named
    return run_verb(TrainConfig, run, argv, verb="train", config_prefix=CONFIG_PREFIX)


if __name__ == "__main__":
    sys.exit(main())
