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
# Environment knobs (defaults in brackets):
#   VERSIONS ["8.x 9.x 10.x"]  NUM_EPISODES [5]  WORKER_ID [0]  NUM_WORKERS [unset: original block split]
#   INDEX_URL [unset: the released index of each version; a http(s):// or file:// URL of a mirror's index]
#   CONTRACTOR_ARGS [extra flags for `steve1 convert-contractor`, e.g. "--exact-camera --retries 10"]
#   EXACT_CAMERA [0: whole degrees as the original; 1: exact camera degrees]
#   MINECLIP_CONFIG [attn]  (tiny = random tiny MineCLIP, for smoke tests only)
#   WORLD [minetest]  NUM_WORLDS [1]  AGENT1 / AGENT2 [vpt:data/weights/vpt/2x.model:...rl-from-foundation-2x.weights]
#   MIXED_EPISODES [2]  MAX_TIMESTEPS [1200]  MIN_TIMESTEPS [200]
#   SKIP_CONTRACTOR / SKIP_MIXED [0]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
    echo "(steve1 convert-contractor --help and steve1 gen-mixed-agents --help list the flags of each half)"
    exit 0
fi

VPT_AGENT="vpt:data/weights/vpt/2x.model:data/weights/vpt/rl-from-foundation-2x.weights"
if [[ "${PAPER:-0}" == "1" ]]; then
    : "${CONTRACTOR_CONFIG:=paper}" "${WORLD:=minerl}" "${MIXED_EPISODES:=2100}"
    : "${MAX_TIMESTEPS:=7200}" "${MIN_TIMESTEPS:=1000}"
fi
VERSIONS="${VERSIONS:-8.x 9.x 10.x}"
WORKER_ID="${WORKER_ID:-0}"
MINECLIP_CONFIG="${MINECLIP_CONFIG:-attn}"
WORLD="${WORLD:-minetest}"
NUM_WORLDS="${NUM_WORLDS:-1}"
AGENT1="${AGENT1:-$VPT_AGENT}"
AGENT2="${AGENT2:-$VPT_AGENT}"
MIXED_EPISODES="${MIXED_EPISODES:-2}"
MAX_TIMESTEPS="${MAX_TIMESTEPS:-1200}"
MIN_TIMESTEPS="${MIN_TIMESTEPS:-200}"

if [[ "${SKIP_CONTRACTOR:-0}" != "1" ]]; then
    # the script's defaults (5 episodes per version, as the original) or a shipped config
    extra=(--config "${CONTRACTOR_CONFIG:-default}")
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
    python -m steve1.data.gen_mixed_agents \
        --output_dir data/dataset_mixed_agents/ \
        --world "$WORLD" \
        --num_worlds "$NUM_WORLDS" \
        --agent1 "$AGENT1" \
        --agent2 "$AGENT2" \
        --max_timesteps "$MAX_TIMESTEPS" \
        --min_timesteps "$MIN_TIMESTEPS" \
        --switch_agent_prob 0.001 \
        --perform_spin_prob 0.00133 \
        --batch_size 4 \
        --num_episodes "$MIXED_EPISODES" \
        --mineclip_config "$MINECLIP_CONFIG"
fi
