"""Per-step world state of a generated episode: `states.jsonl` beside the episode's standard files.

Line t is the state when frame t was seen (the original ignores extra files in an episode directory):
inventory (`inv`, counts > 0), position (`pos`, x y z), `pitch` and `yaw` (degrees, MineRL convention),
`in_water` when the world reports it, the world's other senses (`info["senses"]`, when it gives them) and
`skill`: the agent or scripted skill that chose the action taken at step t.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from steve1.utils.atomic import atomic_write_text

STATES_FILE = "states.jsonl"
SENSES_KEY = "senses"  # obs[SENSES_KEY]: the world's info["senses"] ({} for worlds without senses)
WATER_KEYS = ("in_water", "is_in_water", "isInWater")  # how worlds that report water name it
SPIN_NAME = "spin"  # the `skill` of steps taken by a random spin
BUMP_NAME = "bump"  # the `skill` of steps taken by a bump
INTERRUPTION_NAMES = (SPIN_NAME, BUMP_NAME)  # steps that interrupt the acting skill, which goes on after them


class StatesError(ValueError):
    """An episode's states.jsonl is missing, truncated or does not match the episode."""


def state_of(obs: Mapping, senses: Mapping | None = None, skill: str | None = None) -> dict:
    """The JSON-ready state of one MineRL observation (plus the world's senses and the acting skill)."""
    loc = obs.get("location_stats") or {}
    state = {
        "inv": {k: int(v) for k, v in (obs.get("inventory") or {}).items() if int(v) > 0},
        "pos": [float(loc.get(k, 0.0)) for k in ("xpos", "ypos", "zpos")],
        "pitch": float(loc.get("pitch", 0.0)),
        "yaw": float(loc.get("yaw", 0.0)),
    }
    for key in WATER_KEYS:  # worlds that report it in the observation
        if key in obs or key in loc:
            state["in_water"] = bool(obs.get(key, loc.get(key)))
    if senses:
        state.update(senses)
    if skill is not None:
        state["skill"] = skill
    return state


def states_text(states: Sequence[Mapping]) -> str:
    return "".join(json.dumps(s, separators=(",", ":")) + "\n" for s in states)


def write_states(episode_dir: str | Path, states: Sequence[Mapping]) -> Path:
    path = Path(episode_dir) / STATES_FILE
    atomic_write_text(path, states_text(states))
    return path


def read_states(episode_dir: str | Path, n_frames: int | None = None) -> list[dict]:
    path = Path(episode_dir) / STATES_FILE
    if not path.is_file():
        raise StatesError(f"{path} not found: the episode was made without per-step world state (episodes "
                          f"from gen-mixed-agents have it); regenerate it")
    states = []
    for i, line in enumerate(path.read_text().splitlines()):
        try:
            states.append(json.loads(line))
        except json.JSONDecodeError:
            raise StatesError(f"{path} line {i + 1} is not JSON (truncated file?)") from None
    if n_frames is not None and len(states) < n_frames:
        raise StatesError(f"{path} holds {len(states)} states for {n_frames} frames")
    return states
