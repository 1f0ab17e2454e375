#!/usr/bin/env bash
# Train/val episode lists for policy training (STEVE-1 step 2), written to data/samplings/<name>_{train,val}.txt.
#
# Uses every episode directory that exists among data/dataset_contractor and data/dataset_mixed_agents
# (the original read only the contractor one). Deterministic for --seed.
#
# Default: the original script's demo-sized split (30k train / 10k val frames), named `neurips`.
# Shipped configs (steve1/configs/sampling_*.yaml): CONFIG=paper (all frames but 1.3M for validation),
# CONFIG=small (the `small` sampling of CONFIG=small train/3_train.sh), CONFIG=tiny.
# Extra arguments are passed through (steve1 create-sampling --help), e.g. --seed 1.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${PAPER:-0}" == "1" ]]; then CONFIG=paper; fi
exec python -m steve1.cli create-sampling ${CONFIG:+--config "$CONFIG"} "$@"
