#!/usr/bin/env bash
# STEVE-1 step 0 (optional): turn unlabeled gameplay videos into training episodes with VPT's inverse
# dynamics model (IDM). Each video (any resolution; mp4/avi/mkv/webm/mov/m4v, searched recursively) becomes
# one episode in data/dataset_idm/: 128x128 frames, IDM actions (128-frame windows, stride 64, the middle 64
# kept) and per-frame MineCLIP embeddings. Add the folder to step 2's dataset dirs to train on it.
# Resumes where a previous run stopped (finished videos are skipped); corrupt videos are reported and skipped.
#
# Needs: ./download_weights.sh agent idm   (data/weights/vpt/4x_idm.{model,weights}, mineclip/attn.pth)
#
# Extra arguments are passed to `steve1 label-video` (see its --help), e.g. --target-fps 20.
# Environment knobs (defaults in brackets):
#   VIDEO_DIR [data/videos]  OUTPUT_DIR [data/dataset_idm]
#   WORKER_ID [0]  NUM_WORKERS [1]   (worker i labels videos i, i+n, ... of the sorted list)
#   DEVICE [cuda if available, else cpu]  DTYPE [float32]  BATCH_WINDOWS [1]  THREADS [torch default]
#   WINDOW [128]  STRIDE [64]  TARGET_FPS [unset: every frame; 20 drops frames of faster videos]
#   SMOKE=1: random tiny IDM + tiny MineCLIP, no weight files needed (meaningless labels; checks the plumbing)
set -euo pipefail
cd "$(dirname "$0")/.."

VIDEO_DIR="${VIDEO_DIR:-data/videos}"
OUTPUT_DIR="${OUTPUT_DIR:-data/dataset_idm}"
extra=()
[[ -n "${DEVICE:-}" ]] && extra+=(--device "$DEVICE")
[[ -n "${THREADS:-}" ]] && extra+=(--threads "$THREADS")
[[ -n "${TARGET_FPS:-}" ]] && extra+=(--target-fps "$TARGET_FPS")
if [[ "${SMOKE:-0}" == "1" ]]; then
    extra+=(--idm-model tiny --idm-weights random --mineclip-config tiny)
else
    extra+=(--idm-model data/weights/vpt/4x_idm.model --idm-weights data/weights/vpt/4x_idm.weights
            --mineclip-config attn --mineclip-weights data/weights/mineclip/attn.pth)
fi

exec python -m steve1.cli label-video \
    --video-dir "$VIDEO_DIR" \
    --output-dir "$OUTPUT_DIR" \
    --worker-id "${WORKER_ID:-0}" \
    --num-workers "${NUM_WORKERS:-1}" \
    --window "${WINDOW:-128}" \
    --stride "${STRIDE:-64}" \
    --batch-windows "${BATCH_WINDOWS:-1}" \
    --dtype "${DTYPE:-float32}" \
    "${extra[@]}" "$@"
