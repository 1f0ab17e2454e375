#!/usr/bin/env bash
# Train the CVAE prior on the released data.pkl with the original's settings (steve1/configs/prior_paper.yaml).
# Re-running after a kill resumes; re-running a finished run with the same settings does nothing; other
# settings are refused unless --overwrite. Extra arguments are passed through (steve1 train-prior --help).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m steve1.cli train-prior --config paper "$@"
