"""Captions from what happened: the text of every 16-frame clip of a generated episode, from its world state.

An episode's `states.jsonl` holds one JSON object per frame: `inv` (MineRL item name -> count), `pos`
[x, y, z], `pitch`, `yaw`, and where the generator knows them `skill` (the scripted skill acting, e.g.
chop_tree, build_tower) and `in_water`. A clip is the 16 frames t-15..t; its MineCLIP embedding is
`embeds[t]`. These rules are the one place that decides what a clip shows; the MineCLIP training
(`steve1.mineclip.train`), its retrieval benchmark and the prior's (text, visual) pairs all read them.

Rules, in priority order (one event per clip; clips ending before frame 15 have none):
1. an item enters the inventory at step t (its count rises): log -> chop_tree, dirt -> dig_dirt,
   seed -> collect_seeds (the clip ends where the item arrived);
2. a placeable block's count falls at step t while the acting skill places blocks (`skill` place_blocks or
   build_tower; without a recorded skill a falling count may be a drop, so it is no event): build_tower
   when at least `build_blocks` of height were gained over the clip, else place_blocks;
3. on clips ending every `stride` steps: in water at t -> swim; pitch <= `look_up_pitch` at t (MineRL
   convention: negative pitch looks up) -> look_at_sky; at least `explore_blocks` moved horizontally over
   the clip -> explore; otherwise no caption.

Each event has several phrasings. The first is its canonical caption (`ClipLabel.label`); the training
phrasings are the ones MineCLIP training samples from; the held-out phrasings are never trained on and
measure whether the text tower generalises to new wording (benchmarks/mineclip_retrieval.py).
"""
from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steve1.data.episode import NUM_EMPTY_EMBEDS, PICKLE_PROTOCOL, Episode
from steve1.eval.metrics import INVENTORY_FILTERS
from steve1.utils.atomic import atomic_write_bytes

CLIP_FRAMES = NUM_EMPTY_EMBEDS + 1  # 16
LOOK_UP_PITCH = -60.0  # degrees; MineRL pitch is negative when looking up
EXPLORE_BLOCKS = 1.5  # horizontal blocks moved over one clip (16 steps = 0.8 s)
BUILD_BLOCKS = 1.5  # height gained over one clip while placing blocks
LABEL_STRIDE = 16  # steps between clips considered for the pose/motion captions
PLACEABLE_FILTERS = ("dirt", "_log", "planks", "cobblestone", "stone", "sand")  # substrings of block names
PLACING_SKILLS = frozenset({"place_blocks", "build_tower"})


@dataclass(frozen=True)
class Event:
    """One kind of thing that can happen in a clip and the words for it."""

    name: str
    train_phrasings: tuple[str, ...]  # the first is the canonical caption
    heldout_phrasings: tuple[str, ...]  # never used in training

    @property
    def caption(self) -> str:
        return self.train_phrasings[0]


EVENTS: dict[str, Event] = {e.name: e for e in (
    Event("chop_tree", ("chop a tree", "cut down a tree", "get wood", "collect logs"),
          ("gather wood from a tree", "punch a tree for logs")),
    Event("dig_dirt", ("dig dirt", "dig the ground", "collect dirt", "mine some dirt"),
          ("get dirt blocks", "dig a hole in the dirt")),
    Event("collect_seeds", ("collect seeds", "break grass for seeds", "gather seeds", "get wheat seeds"),
          ("find some seeds", "pick up seeds from the grass")),
    Event("place_blocks", ("place blocks", "put down blocks", "place dirt", "build with blocks"),
          ("set blocks on the ground", "lay down some blocks")),
    Event("build_tower", ("build a tower", "pillar up", "build up", "jump and place blocks below"),
          ("stack blocks to go higher", "make a tall pillar")),
    Event("swim", ("go swimming", "swim", "swim in the water", "go into the water"),
          ("paddle through water", "take a swim")),
    Event("look_at_sky", ("look at the sky", "look up", "look up at the sky", "stare at the clouds"),
          ("gaze upward", "tilt your head up to the sky")),
    Event("explore", ("go explore", "explore", "walk around", "travel far"),
          ("wander across the land", "run somewhere new")),
)}
ITEM_EVENTS = {"log": "chop_tree", "dirt": "dig_dirt", "seed": "collect_seeds"}  # INVENTORY_FILTERS key
# Canonical captions (the quickstart's labels, the prior's text).
INVENTORY_LABELS = {item: EVENTS[event].caption for item, event in ITEM_EVENTS.items()}
SWIM, SKY, EXPLORE = EVENTS["swim"].caption, EVENTS["look_at_sky"].caption, EVENTS["explore"].caption
PLACE, BUILD = EVENTS["place_blocks"].caption, EVENTS["build_tower"].caption
ALL_LABELS = tuple(e.caption for e in EVENTS.values())
CAPTION_EVENT = {p: e.name for e in EVENTS.values() for p in e.train_phrasings + e.heldout_phrasings}


def training_phrasings(event: str) -> tuple[str, ...]:
    return EVENTS[event].train_phrasings


def heldout_phrasings(event: str) -> tuple[str, ...]:
    return EVENTS[event].heldout_phrasings


def sample_phrasing(event: str, rng: np.random.Generator) -> str:
    """A training phrasing of `event`, uniformly (held-out phrasings are never drawn)."""
    phrasings = EVENTS[event].train_phrasings
    return phrasings[int(rng.integers(len(phrasings)))]


@dataclass(frozen=True)
class ClipLabel:
    step: int  # last frame of the clip (t); its embedding is embeds[t]
    label: str  # the event's canonical caption
    event: str = ""  # key of EVENTS

    def __post_init__(self) -> None:
        if not self.event:  # ClipLabel(step, caption) names the event through its caption
            object.__setattr__(self, "event", CAPTION_EVENT[self.label])


def _counts(states: Sequence[Mapping], filters: Sequence[str]) -> np.ndarray:
    """(T, F) summed inventory counts of the items whose names contain each filter substring."""
    counts = np.zeros((len(states), len(filters)))
    for t, s in enumerate(states):
        for item, n in (s.get("inv") or {}).items():
            for j, f in enumerate(filters):
                if f in item:
                    counts[t, j] += n
    return counts


def label_clips(states: Sequence[Mapping], stride: int = LABEL_STRIDE, look_up_pitch: float = LOOK_UP_PITCH,
                explore_blocks: float = EXPLORE_BLOCKS, build_blocks: float = BUILD_BLOCKS,
                ) -> list[ClipLabel]:
    """The captioned clips of one episode (rules in the module docstring), sorted by step."""
    n = len(states)
    if n < CLIP_FRAMES:
        return []
    first = CLIP_FRAMES - 1
    items = _counts(states, [INVENTORY_FILTERS[k] for k in ITEM_EVENTS])  # (T, 3)
    rises = np.zeros_like(items, dtype=bool)
    rises[1:] = items[1:] > items[:-1]
    placeable = _counts(states, PLACEABLE_FILTERS).sum(axis=1)  # (T,)
    skills = [s.get("skill") for s in states]
    placed = np.zeros(n, dtype=bool)  # a placeable block left the inventory at step t while placing
    placed[1:] = (placeable[1:] < placeable[:-1]) & np.array([k in PLACING_SKILLS for k in skills[1:]])
    pos = np.array([s.get("pos", (0.0, 0.0, 0.0)) for s in states], dtype=np.float64)  # (T, 3)
    pitch = np.array([s.get("pitch", 0.0) for s in states], dtype=np.float64)  # (T,)
    water = np.array([bool(s.get("in_water", False)) for s in states])  # (T,)
    out: dict[int, str] = {}
    for j, event in enumerate(ITEM_EVENTS.values()):  # priority: logs, dirt, seeds
        for t in np.flatnonzero(rises[:, j]):
            if t >= first and t not in out:
                out[int(t)] = event
    for t in np.flatnonzero(placed):  # then placements: with height gained over the clip, a tower
        if t >= first and t not in out:
            out[int(t)] = "build_tower" if pos[t, 1] - pos[t - first, 1] >= build_blocks else "place_blocks"
    for t in range(first, n, stride):
        if t in out:
            continue
        moved = float(np.hypot(*(pos[t, [0, 2]] - pos[t - first, [0, 2]])))
        if water[t]:
            out[t] = "swim"
        elif pitch[t] <= look_up_pitch:
            out[t] = "look_at_sky"
        elif moved >= explore_blocks:
            out[t] = "explore"
    return [ClipLabel(t, EVENTS[out[t]].caption, out[t]) for t in sorted(out)]


def build_prior_pairs(episode_dirs: Sequence[str | Path], embed_texts, out_path: str | Path,
                      stride: int = LABEL_STRIDE) -> dict:
    """Caption every episode's clips, pair MineCLIP text embeddings of the canonical captions with the clips'
    visual embeddings and write the released `data.pkl` layout ({text_embeddings, visual_embeddings}: lists
    of (512,) float32 arrays).

    `embed_texts(list[str]) -> (N, D)`. Returns a summary (pairs per caption, per episode)."""
    from steve1.data.states import StatesError, read_states

    items: list[tuple[str, np.ndarray, str, int]] = []  # (caption, visual (D,), episode, step)
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
    text = dict(zip(labels, np.asarray(embed_texts(labels), np.float32), strict=True))  # caption -> (D,)
    data = {"text_embeddings": [text[it[0]].copy() for it in items],
            "visual_embeddings": [it[1] for it in items]}
    atomic_write_bytes(out_path, pickle.dumps(data, protocol=PICKLE_PROTOCOL))
    return {"n_pairs": len(items), "per_label": dict(Counter(it[0] for it in items)),
            "clips": [{"episode": it[2], "step": it[3], "label": it[0]} for it in items]}
