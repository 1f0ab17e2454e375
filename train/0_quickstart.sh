#!/usr/bin/env bash
# The whole STEVE-1 recipe end to end at small scale on the embedded Minetest world, in one command:
# mixed-agent episodes + MineCLIP embeddings -> sampling -> goal-conditioned fine-tuning (packed hindsight
# relabeling) -> clips auto-labelled from what happened in them -> prior -> the agent on a prompt vs
# unprompted -> videos, metrics, plots, report.md. Same as `steve1 quickstart`.
#
#   train/0_quickstart.sh                          # --scale quick: under 20 minutes on two CPU cores
#   train/0_quickstart.sh --scale ci               # the shortened form CI runs
#   train/0_quickstart.sh --prompt "dig dirt"      # another prompt for the agent stage
#   train/0_quickstart.sh --from-stage prior       # rerun from a stage; otherwise finished stages are skipped
#
# Outputs: data/quickstart/<scale>/NN_<stage>/ (each with done.json) and data/quickstart/<scale>/report.md.
# With the released files under data/weights (./download_weights.sh) the run uses them: VPT for generation,
# attn.pth for MineCLIP, steve1.weights instead of fine-tuning, steve1_prior.pt instead of prior training.
# The same stages at paper scale: train/1_generate_dataset.sh ... train/4_train_prior.sh, run_agent/*.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m steve1.cli quickstart "$@"
