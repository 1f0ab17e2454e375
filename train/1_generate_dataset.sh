#!/usr/bin/env bash
# STEVE-1 step 1: build the training episodes.
#   (a) convert VPT contractor recordings (8.x, 9.x, 10.x) -> data/dataset_contractor/
#   (b) generate mixed-agent episodes in a world            -> data/dataset_mixed_agents/
# Both resume where a previous run stopped (finished episodes are skipped; partial ones are redone).
#
# Default (small): 5 contractor episodes per version (as the original script) and 2 short mixed-agent
# episodes in the embedded Minetest world.
# Paper scale: PAPER=1 ./train/1_generate_dataset.sh
#   every episode of each index (split across machines with NUM_WORKERS / WORKER_ID), and ~2100 mixed-agent
#   episodes of up to 7200 steps in MineRL (the paper used 38.94M contractor + 14.96M generated frames).
#
# Environment knobs (defaults in brackets):
#   VERSIONS ["8.x 9.x 10.x"]  NUM_EPISODES [5]  WORKER_ID [0]  NUM_WORKERS [unset: original block split]
#   EXACT_CAMERA [0: whole degrees as the original; 1: exact camera degrees]
#   MINECLIP_CONFIG [attn]  (tiny = random tiny MineCLIP, for smoke tests only)
#   WORLD [minetest]  NUM_WORLDS [1]  AGENT1 / AGENT2 [vpt:data/weights/vpt/2x.model:...rl-from-foundation-2x.weights]
#   MIXED_EPISODES [2]  MAX_TIMESTEPS [1200]  MIN_TIMESTEPS [200]
#   SKIP_CONTRACTOR / SKIP_MIXED [0]
set -euo pipefail
cd "$(dirname "$0")/.."

VPT_AGENT="vpt:data/weights/vpt/2x.model:data/weights/vpt/rl-from-foundation-2x.weights"
if [[ "${PAPER:-0}" == "1" ]]; then
    : "${NUM_EPISODES:=-1}" "${NUM_WORKERS:=1}" "${WORLD:=minerl}" "${MIXED_EPISODES:=2100}"
    : "${MAX_TIMESTEPS:=7200}" "${MIN_TIMESTEPS:=1000}" "${CONTRACTOR_MIN_TIMESTEPS:=1000}"
fi
VERSIONS="${VERSIONS:-8.x 9.x 10.x}"
NUM_EPISODES="${NUM_EPISODES:-5}"
WORKER_ID="${WORKER_ID:-0}"
MINECLIP_CONFIG="${MINECLIP_CONFIG:-attn}"
CONTRACTOR_MIN_TIMESTEPS="${CONTRACTOR_MIN_TIMESTEPS:-1000}"
WORLD="${WORLD:-minetest}"
NUM_WORLDS="${NUM_WORLDS:-1}"
AGENT1="${AGENT1:-$VPT_AGENT}"
AGENT2="${AGENT2:-$VPT_AGENT}"
MIXED_EPISODES="${MIXED_EPISODES:-2}"
MAX_TIMESTEPS="${MAX_TIMESTEPS:-1200}"
MIN_TIMESTEPS="${MIN_TIMESTEPS:-200}"

if [[ "${SKIP_CONTRACTOR:-0}" != "1" ]]; then
    extra=()
    [[ -n "${NUM_WORKERS:-}" ]] && extra+=(--num_workers "$NUM_WORKERS")
    [[ "${EXACT_CAMERA:-0}" == "1" ]] && extra+=(--exact_camera)
    for version in $VERSIONS; do
        python -m steve1.data.convert_contractor \
            --index "$version" \
            --output_dir data/dataset_contractor/ \
            --cache_dir data/contractor_cache \
            --batch_size 32 \
            --num_episodes "$NUM_EPISODES" \
            --worker_id "$WORKER_ID" \
            --min_timesteps "$CONTRACTOR_MIN_TIMESTEPS" \
            --mineclip_config "$MINECLIP_CONFIG" \
            "${extra[@]}"
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
