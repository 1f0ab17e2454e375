#!/usr/bin/env bash
# Fine-tune VPT into STEVE-1 (STEVE-1 step 3).
#   train/3_train.sh                          # paper settings (steve1/configs/train_paper.yaml), 1 GPU, bf16
#   NUM_PROCESSES=8 train/3_train.sh          # 8 GPUs on this node
#   CONFIG=small train/3_train.sh --n-frames 200000
#   ACCELERATE_ARGS="--config_file my_cluster.yaml" train/3_train.sh   # many nodes: accelerate's own config
# Extra arguments override settings of the config (see `steve1 train --help`).
# Killed? Run the same command again: it resumes from checkpoint_dir exactly where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG="${CONFIG:-paper}"
NUM_PROCESSES="${NUM_PROCESSES:-1}"
# The config's mixed_precision (bf16 for paper, no for tiny/small) wins over this launcher flag unless null.
MIXED_PRECISION="${MIXED_PRECISION:-bf16}"
if [[ -n "${ACCELERATE_ARGS:-}" ]]; then
    # shellcheck disable=SC2086
    exec accelerate launch ${ACCELERATE_ARGS} -m steve1.cli train --config "$CONFIG" "$@"
fi
exec accelerate launch --num_processes "$NUM_PROCESSES" --num_machines 1 --dynamo_backend no \
    --mixed_precision "$MIXED_PRECISION" \
    -m steve1.cli train --config "$CONFIG" "$@"
