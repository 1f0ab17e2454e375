#!/usr/bin/env bash
# Fine-tune VPT into STEVE-1 (steve1.md §6). Run from the repository root.
#   train/3_train.sh                          # paper settings (configs/train_paper.yaml), 1 GPU, bf16
#   NUM_PROCESSES=8 train/3_train.sh          # 8 GPUs on this node
#   CONFIG=small train/3_train.sh --n_frames 200000
#   ACCELERATE_ARGS="--config_file my_cluster.yaml" train/3_train.sh   # many nodes: accelerate's own config
# Extra arguments override fields of the config (see `python -m steve1.training.train --help`).
# Killed? Run the same command again: it resumes from checkpoint_dir exactly where it stopped.
set -euo pipefail
CONFIG="${CONFIG:-paper}"
NUM_PROCESSES="${NUM_PROCESSES:-1}"
# The config's mixed_precision (bf16 for paper, no for tiny/small) wins over this launcher flag unless null.
MIXED_PRECISION="${MIXED_PRECISION:-bf16}"
if [[ -n "${ACCELERATE_ARGS:-}" ]]; then
    # shellcheck disable=SC2086
    exec accelerate launch ${ACCELERATE_ARGS} -m steve1.training.train --config "$CONFIG" "$@"
fi
exec accelerate launch --num_processes "$NUM_PROCESSES" --num_machines 1 --dynamo_backend no \
    --mixed_precision "$MIXED_PRECISION" \
    -m steve1.training.train --config "$CONFIG" "$@"
