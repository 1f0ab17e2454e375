#!/usr/bin/env bash
# Interactive session: a window shows the agent's view and the current prompt; type a new prompt (Enter) to
# change the goal live. Commands: `reset agent`, `reset env`, `save video [name]`, `quit`.
# Without a display (or with --headless) prompts are read from the terminal, or from a file:
#
#   ./run_agent/3_run_interactive_session.sh                         # window (needs a display)
#   ./run_agent/3_run_interactive_session.sh --headless              # type prompts in the terminal
#   ./run_agent/3_run_interactive_session.sh --prompt-file prompts.txt   # scripted (see `wait N` lines)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m steve1.cli interactive "$@"   # defaults: `steve1 interactive --help`
