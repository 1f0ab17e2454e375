#!/usr/bin/env bash
# Train a MineCLIP of our own on captioned clips of generated episodes (each episode needs states.jsonl;
# the captions come from what happened, steve1/data/captions.py). Same as `steve1 train-mineclip`.
#
#   train/0_train_mineclip.sh --episodes data/dataset_mixed_agents        # tiny size: two CPU cores, minutes
#   train/0_train_mineclip.sh --size attn --steps 20000 --batch-size 64   # the released size, on a GPU
#   accelerate launch -m steve1.mineclip.train --size attn ...            # several GPUs
#
# Writes data/weights/mineclip/ours.pth (attn.pth's layout) + ours.config.json; use it everywhere with
# --mineclip data/weights/mineclip/ours.pth, and re-embed existing episodes with `steve1 embed`.
# Re-running after a kill resumes; changed settings are refused (--restart starts over).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m steve1.mineclip.train "$@"
