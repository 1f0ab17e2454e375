#!/usr/bin/env bash
# Train/val episode lists for policy training (STEVE-1 step 2), written to data/samplings/<name>_{train,val}.txt.
#
# Uses every episode directory that exists among data/dataset_contractor and data/dataset_mixed_agents
# (the original read only the contractor one). Deterministic for --seed.
#
# Default: the original script's demo-sized split (30k train / 10k val frames).
# Paper scale: PAPER=1 ./train/2_create_sampling.sh   (all frames but 1.3M for validation; the paper's data
#   was 38.94M contractor + 14.96M generated frames). Extra arguments are passed through, e.g. --seed 1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${PAPER:-0}" == "1" ]]; then
    TRAIN_FRAMES=-1
    VAL_FRAMES=1300000
else
    TRAIN_FRAMES=30000
    VAL_FRAMES=10000
fi

python -m steve1.data.sampling \
    --type neurips \
    --name neurips \
    --output_dir data/samplings/ \
    --val_frames "$VAL_FRAMES" \
    --train_frames "$TRAIN_FRAMES" \
    "$@"
