#!/usr/bin/env bash
# One prompt -> a 1,000-step video with the prompt drawn on it, plus its metrics (CSV/JSON beside it).
#
#   ./run_agent/2_gen_vid_for_text_prompt.sh                          # "look at the sky"
#   ./run_agent/2_gen_vid_for_text_prompt.sh --prompt "chop down the tree"
#   ./run_agent/2_gen_vid_for_text_prompt.sh --world minerl --prompt "go swimming"
#   ./run_agent/2_gen_vid_for_text_prompt.sh --policy tiny --mineclip tiny --random-weights --steps 100
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m steve1.cli run-agent "$@"   # defaults: `steve1 run-agent --help`
