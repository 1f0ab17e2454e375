#!/usr/bin/env bash
# STEVE-1 step 1: build the training episodes.
#   (a) convert VPT contractor recordings (8.x, 9.x, 10.x) -> data/dataset_contractor/
#   (b) generate mixed-agent episodes in a world            -> data/dataset_mixed_agents/
# Both resume where a previous run stopped (finished episodes are skipped; partial ones are redone).
#
# Default (small): 5 contractor episodes per version (as the original script) and 2 short mixed-agent
# episodes in the embedded Minetest world.
# Paper scale: PAPER=1 ./train/1_generate_dataset.sh
#   every episode of each index (steve1/configs/convert_paper.yaml; split across machines with NUM_WORKERS /
#   WORKER_ID), and ~2100 mixed-agent episodes of up to 7200 steps in MineRL (the paper used 38.94M
#   contractor + 14.96M generated frames).
#
# Environment knobs (defaults in brackets); every setting else is a flag of the verbs (see their --help):
#   VERSIONS ["8.x 9.x 10.x"]  NUM_EPISODES [5]  WORKER_ID [0]  NUM_WORKERS [unset: original block split]
#   INDEX_URL [unset: the released index of each version; a http(s):// or file:// URL of a mirror's index]
#   EXACT_CAMERA [0: whole degrees as the original; 1: exact camera degrees]
#   MINECLIP_CONFIG [attn]  (tiny = random tiny MineCLIP, for smoke tests only; or a MineCLIP of ours)
#   CONTRACTOR_ARGS / GENERATE_ARGS [extra flags for `steve1 convert-contractor` / `steve1 gen-mixed-agents`,
#     e.g. GENERATE_ARGS="--world minetest --fast --num-worlds 4 --skills chop_tree+dig_dirt+explore"]
#   SKIP_CONTRACTOR / SKIP_MIXED [0]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
    echo "(steve1 convert-contractor --help and steve1 gen-mixed-agents --help list the flags of each half)"
    exit 0
fi

CONFIG=default
[[ "${PAPER:-0}" == "1" ]] && CONFIG=paper  # steve1/configs/{convert,generate}_paper.yaml
VERSIONS="${VERSIONS:-8.x 9.x 10.x}"
WORKER_ID="${WORKER_ID:-0}"
MINECLIP_CONFIG="${MINECLIP_CONFIG:-attn}"

if [[ "${SKIP_CONTRACTOR:-0}" != "1" ]]; then
    # the script's defaults (5 episodes per version, as the original) or a shipped config
    extra=(--config "$CONFIG")
    [[ -n "${NUM_EPISODES:-}" ]] && extra+=(--num-episodes "$NUM_EPISODES")
    [[ -n "${NUM_WORKERS:-}" ]] && extra+=(--num-workers "$NUM_WORKERS")
    [[ -n "${INDEX_URL:-}" ]] && extra+=(--index-url "$INDEX_URL")
    [[ "${EXACT_CAMERA:-0}" == "1" ]] && extra+=(--exact-camera)
    for version in $VERSIONS; do
        # shellcheck disable=SC2086
        python -m steve1.cli convert-contractor \
            --index "$version" \
            --worker-id "$WORKER_ID" \
            --mineclip-config "$MINECLIP_CONFIG" \
            "${extra[@]}" ${CONTRACTOR_ARGS:-}
    done
fi

if [[ "${SKIP_MIXED:-0}" != "1" ]]; then
    # shellcheck disable=SC2086
    python -m steve1.cli gen-mixed-agents --config "$CONFIG" --mineclip "$MINECLIP_CONFIG" ${GENERATE_ARGS:-}
fi
