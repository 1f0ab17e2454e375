#!/usr/bin/env bash
# Train the CVAE prior on the released data.pkl (the original's settings). Re-running after a kill resumes.
set -euo pipefail
python -m steve1.prior.train \
    --data_path data/prior_dataset/data.pkl \
    --output_path data/weights/vae/trained_vae.pt \
    --hidden_dim 512 --latent_dim 512 --batch_size 256 --lr 1e-4 \
    --n_validation 200 --n_epochs 50 --beta 1.0 "$@"
