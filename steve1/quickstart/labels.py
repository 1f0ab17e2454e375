"""Per-step world state of generated episodes (`states.jsonl`) for captioning their clips.

Every generated episode gets a `states.jsonl` beside its five standard files (the original ignores extra
files): line t is the world state when frame t was seen (inventory, position, look angles, and `in_water`
when the world reports it). The caption rules that read it live in `steve1.data.captions` (re-exported here).
"""
from __future__ import annotations

from steve1.data.captions import (  # noqa: F401 - the caption rules, re-exported for the quickstart
    ALL_LABELS,
    CLIP_FRAMES,
    EXPLORE,
    EXPLORE_BLOCKS,
    INVENTORY_LABELS,
    LABEL_STRIDE,
    LOOK_UP_PITCH,
    SKY,
    SWIM,
    ClipLabel,
    build_prior_pairs,
    label_clips,
)
from steve1.data.states import STATES_FILE, StatesError, read_states, state_of, write_states  # noqa: F401
