#!/usr/bin/env bash
# The paper's videos: 11 prompts, text and visual, 3,000-step episodes, guidance 6.0 (text) / 7.0 (visual).
# Videos and per-episode metrics go to data/generated_videos/paper_prompts; videos already made are skipped.
# A crashed world is retried inside the program (no restart loop needed).
#
#   ./run_agent/1_gen_paper_videos.sh                      # embedded Minetest world, released weights
#   ./run_agent/1_gen_paper_videos.sh --world minerl       # real Minecraft (MineRL 1.0), as the paper
#   ./run_agent/1_gen_paper_videos.sh --n-worlds 4         # four worlds stepped in one batch
#   ./run_agent/1_gen_paper_videos.sh --policy tiny --mineclip tiny --random-weights --kinds text --steps 200
#                                                          # no downloads: a smoke test with random weights
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m steve1.cli paper-videos "$@"   # defaults: `steve1 paper-videos --help`
