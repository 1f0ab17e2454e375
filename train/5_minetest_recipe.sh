#!/usr/bin/env bash
# The whole STEVE-1 recipe on the embedded Minetest world, from nothing to a text-prompted agent: the command
# that made the models shipped in steve1/weights/minetest/ (README, "Model card"). Every step resumes, so
# after a kill run the same command again; finished steps are skipped or return at once.
#
#   train/5_minetest_recipe.sh            # data/minetest/: episodes, MineCLIP, policy, prior, evaluation
#   SHIP=1 train/5_minetest_recipe.sh     # then copy the models and visual prompts into steve1/weights/minetest/
#   EVAL_EPISODES=10 (default) sets the steerability benchmark's episodes per prompt (0 skips it)
#
# Steps (settings in steve1/configs/*_minetest*.yaml; flags named here override nothing else):
#   1. gen-mixed-agents  three scripted-skill datasets, 4 fast worlds, placeholder embeddings:
#                        minetest (120 x 1000 steps), minetest_bumps (120 x 1000, bumps), minetest_starts
#                        (300 x 400, bumps: many fresh starts)
#   2. train-mineclip    our MineCLIP, contrastive on the first dataset's captioned clips
#   3. embed             every dataset's per-step embeddings recomputed with it
#   4. create-sampling   train/val lists over the three datasets (T=160)
#   5. train             the small policy from scratch, packed hindsight relabeling within each skill's run,
#                        skill starts weighted, goal dropout
#   6. prior-data        (caption text, clip) embedding pairs -> data.pkl
#   7. train-prior       the CVAE prior
#   8. visual prompts    8 held-out episodes (run seed 20261201), embedded, one 16-frame clip per skill
#   9. benchmarks.steerability   prompted vs unprompted, fixed held-out world seeds, the policy's guidance
set -euo pipefail
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then  # this header, as help
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"
    exit 0
fi
cd "$(dirname "$0")/.."
DIR=data/minetest
STEVE1="python -m steve1.cli"

for CONFIG in minetest minetest_bumps minetest_starts; do
    $STEVE1 gen-mixed-agents --config "$CONFIG" --noprogress
done
$STEVE1 train-mineclip --config minetest
for EPISODES in episodes episodes_bumps episodes_starts; do
    $STEVE1 embed --episodes "$DIR/$EPISODES" --mineclip "$DIR/mineclip.pth" --batch-size 64
done
$STEVE1 create-sampling --config minetest
# On cores shared with other jobs, OMP_NUM_THREADS=1 trains faster (two threads mostly wait for each other).
$STEVE1 train --config minetest
$STEVE1 prior-data --episodes "$DIR/episodes" --mineclip "$DIR/mineclip.pth" --out "$DIR/prior_data.pkl"
$STEVE1 train-prior --config minetest
HELDOUT=$DIR/heldout_skills
$STEVE1 gen-mixed-agents --config minetest --output-dir "$HELDOUT" --num-episodes 8 --seed 20261201 --noprogress
$STEVE1 embed --episodes "$HELDOUT" --mineclip "$DIR/mineclip.pth" --batch-size 64
$STEVE1 visual-prompts --episodes "$HELDOUT" --mineclip "$DIR/mineclip.pth" --out-dir "$DIR/visual_prompts"

if [[ "${SHIP:-0}" == 1 ]]; then
    SHIPPED=steve1/weights/minetest
    mkdir -p "$SHIPPED"
    cp "$DIR/mineclip.pth" "$SHIPPED/mineclip.pth"
    cp "$DIR/mineclip.config.json" "$SHIPPED/mineclip.config.json"
    cp "$DIR/policy.weights" "$SHIPPED/policy.weights"
    # the guidance the steerability benchmark measured best for the shipped policy (README, Model card)
    echo '{"text_cond_scale": 0.0, "visual_cond_scale": 3.0}' > "$SHIPPED/policy.guidance.json"
    cp "$DIR/prior.pt" "$SHIPPED/prior.pt"
    rm -rf "$SHIPPED/visual_prompts" && cp -r "$DIR/visual_prompts" "$SHIPPED/visual_prompts"
fi
if [[ "${EVAL_EPISODES:-10}" != 0 ]]; then
    # --cond-scale/--visual-cond-scale: the guidance file written above when shipped, else the paper's 6 and 7
    python -m benchmarks.steerability --episodes "${EVAL_EPISODES:-10}" --out "$DIR/steerability" \
        --policy small --weights "$DIR/policy.weights" --mineclip "$DIR/mineclip.pth" \
        --prior-weights "$DIR/prior.pt" --visual-prompts-dir "$DIR/visual_prompts" --visual --chain
fi
