"""Automatic text labels for clips of generated episodes, and the prior's (text, visual) pairs from them.

Every generated episode gets a `states.jsonl` beside its five standard files (the original ignores extra
files): line t is the world state when frame t was seen (inventory, position, look angles, and `in_water`
when the world reports it). A clip is the 16 frames t-15..t, whose MineCLIP embedding is `embeds[t]`.

Rules, in priority order (one label per clip):
- an inventory count rises at step t (the clip ends at the step the item arrived):
  logs -> "chop a tree", dirt -> "dig dirt", seeds -> "collect seeds";
- otherwise, on clips ending every `stride` steps: in water at t -> "go swimming"; pitch <= -60 degrees at t
  (MineRL convention: negative pitch looks up) -> "look at the sky"; moved at least `explore_blocks` blocks
  horizontally over the clip -> "go explore"; else no label.
The Minetest world does not report water, so "go swimming" appears only with worlds that do.
"""
from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steve1.data.episode import NUM_EMPTY_EMBEDS, PICKLE_PROTOCOL, Episode
from steve1.data.states import STATES_FILE, StatesError, read_states, state_of, write_states  # noqa: F401
from steve1.eval.metrics import INVENTORY_FILTERS
from steve1.utils.atomic import atomic_write_bytes

CLIP_FRAMES = NUM_EMPTY_EMBEDS + 1  # 16
LOOK_UP_PITCH = -60.0  # degrees; MineRL pitch is negative when looking up
EXPLORE_BLOCKS = 1.5  # horizontal blocks moved over one clip (16 steps = 0.8 s)
LABEL_STRIDE = 16  # steps between clips considered for the pose/motion labels
INVENTORY_LABELS = {"log": "chop a tree", "dirt": "dig dirt", "seed": "collect seeds"}
SWIM, SKY, EXPLORE = "go swimming", "look at the sky", "go explore"
ALL_LABELS = (*INVENTORY_LABELS.values(), SWIM, SKY, EXPLORE)


# ---------------------------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class ClipLabel:
    step: int  # last frame of the clip (t); its embedding is embeds[t]
    label: str


def _category_counts(states: Sequence[Mapping]) -> np.ndarray:
    """(T, 3) inventory counts per label category (log, dirt, seed), as steve1.eval.metrics counts them."""
    cats = list(INVENTORY_LABELS)
    counts = np.zeros((len(states), len(cats)))
    for t, s in enumerate(states):
        for item, n in (s.get("inv") or {}).items():
            for j, c in enumerate(cats):
                if INVENTORY_FILTERS[c] in item:
                    counts[t, j] += n
    return counts


def label_clips(states: Sequence[Mapping], stride: int = LABEL_STRIDE, look_up_pitch: float = LOOK_UP_PITCH,
                explore_blocks: float = EXPLORE_BLOCKS) -> list[ClipLabel]:
    """Labels of the clips of one episode (rules in the module docstring), sorted by step."""
    n = len(states)
    if n < CLIP_FRAMES:
        return []
    counts = _category_counts(states)  # (T, 3)
    rises = np.zeros_like(counts, dtype=bool)
    rises[1:] = counts[1:] > counts[:-1]
    out: dict[int, str] = {}
    first = CLIP_FRAMES - 1
    for j, label in enumerate(INVENTORY_LABELS.values()):  # priority: logs, dirt, seeds
        for t in np.flatnonzero(rises[:, j]):
            if t >= first and t not in out:
                out[int(t)] = label
    pos = np.array([s.get("pos", (0.0, 0.0, 0.0)) for s in states], dtype=np.float64)  # (T, 3)
    pitch = np.array([s.get("pitch", 0.0) for s in states], dtype=np.float64)  # (T,)
    water = np.array([bool(s.get("in_water", False)) for s in states])  # (T,)
    for t in range(first, n, stride):
        if t in out:
            continue
        moved = float(np.hypot(*(pos[t, [0, 2]] - pos[t - first, [0, 2]])))
        if water[t]:
            out[t] = SWIM
        elif pitch[t] <= look_up_pitch:
            out[t] = SKY
        elif moved >= explore_blocks:
            out[t] = EXPLORE
    return [ClipLabel(t, out[t]) for t in sorted(out)]


def build_prior_pairs(episode_dirs: Sequence[str | Path], embed_texts, out_path: str | Path,
                      stride: int = LABEL_STRIDE) -> dict:
    """Label every episode's clips, pair MineCLIP text embeddings with the clips' visual embeddings and write
    the released `data.pkl` layout ({text_embeddings, visual_embeddings}: lists of (512,) float32 arrays).

    `embed_texts(list[str]) -> (N, D)`. Returns a summary (pairs per label, per episode)."""
    items: list[tuple[str, np.ndarray, str, int]] = []  # (label, visual (D,), episode, step)
    for ep_dir in episode_dirs:
        ep = Episode(ep_dir)
        states = read_states(ep_dir, len(ep))[: len(ep)]
        embeds = ep.embeds()
        for clip in label_clips(states, stride):
            e = embeds[clip.step]
            if e is None:
                raise StatesError(f"{ep_dir}: no MineCLIP embedding at step {clip.step}")
            items.append((clip.label, np.asarray(e, np.float32).reshape(-1), Path(ep_dir).name, clip.step))
    if not items:
        raise ValueError("no clip of the generated episodes got a label (no item collected, never looked up, "
                         "never moved): generate more or longer episodes (--scale quick)")
    labels = sorted({it[0] for it in items})
    text = dict(zip(labels, np.asarray(embed_texts(labels), np.float32), strict=True))  # label -> (D,)
    data = {"text_embeddings": [text[it[0]].copy() for it in items],
            "visual_embeddings": [it[1] for it in items]}
    atomic_write_bytes(out_path, pickle.dumps(data, protocol=PICKLE_PROTOCOL))
    return {"n_pairs": len(items), "per_label": dict(Counter(it[0] for it in items)),
            "clips": [{"episode": it[2], "step": it[3], "label": it[0]} for it in items]}
