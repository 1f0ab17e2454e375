"""Synthetic captioned episodes: one visual pattern per event, world states crafted so the caption rules fire.

For tests, and for the retrieval benchmark's `--synthetic` mode, where no scripted-skill episodes exist: an
episode is a run of 32-frame segments; each segment shows one event's pattern (its own colour and stripe
orientation, stripes drifting, with per-episode brightness, per-frame noise) and its states make
`steve1.data.captions.label_clips` caption clips inside it with that event, or (event None) nothing.
Training on them shows that the contrastive training learns; it says nothing about Minetest footage.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from steve1.data.captions import EVENTS
from steve1.data.episode import FRAME_SIZE, EpisodeWriter

SEGMENT = 32  # frames per event segment (two 16-frame clips)
EVENT_AT = 24  # frame within a segment where an inventory event happens (its clip lies inside the segment)
ITEM_OF = {"chop_tree": "oak_log", "dig_dirt": "dirt", "collect_seeds": "wheat_seeds"}


def pattern_frames(event: str | None, n: int, rng: np.random.Generator, brightness: float) -> np.ndarray:
    """(n, 128, 128, 3) uint8 frames of the event's pattern (None: grey noise, no pattern)."""
    yy, xx = np.mgrid[0:FRAME_SIZE, 0:FRAME_SIZE].astype(np.float32)
    if event is None:
        base = np.full((n, FRAME_SIZE, FRAME_SIZE, 3), 110.0, np.float32)
    else:
        k = list(EVENTS).index(event)
        hue = np.array([np.cos(2 * np.pi * k / len(EVENTS) + c) for c in (0.0, 2.1, 4.2)])  # (3,)
        colour = 128 + 90 * hue
        angle = np.pi * k / len(EVENTS)
        phase = xx * np.cos(angle) + yy * np.sin(angle)  # (128, 128)
        t = np.arange(n, dtype=np.float32)[:, None, None]
        stripes = 0.5 + 0.5 * np.sin(phase[None] / 6.0 + t * 0.4)  # (n, 128, 128), drifting
        base = colour[None, None, None, :] * (0.55 + 0.45 * stripes[..., None])
    noise = rng.normal(0.0, 12.0, size=base.shape)
    return np.clip(base * brightness + noise, 0, 255).astype(np.uint8)


def segment_states(event: str | None, start: int, state: dict) -> list[dict]:
    """States of one segment continuing from `state` (inventory, position carried over)."""
    out = []
    inv = dict(state["inv"])
    pos = list(state["pos"])
    for i in range(SEGMENT):
        s = {"inv": dict(inv), "pos": list(pos), "pitch": 0.0, "yaw": 0.0, "skill": "random"}
        if event in ITEM_OF and i == EVENT_AT:
            inv[ITEM_OF[event]] = inv.get(ITEM_OF[event], 0) + 1
        elif event in ("place_blocks", "build_tower"):
            s["skill"] = event
            if i == EVENT_AT:
                inv["dirt"] = inv.get("dirt", 0) - 1
            if event == "build_tower":
                pos[1] += 4.0 / SEGMENT  # 1.9 blocks over a clip
        elif event == "swim":
            s["in_water"] = True
        elif event == "look_at_sky":
            s["pitch"] = -80.0
        elif event == "explore":
            pos[0] += 0.25
        s["inv"], s["pos"] = dict(inv), list(pos)
        out.append(s)
    return out


def write_synthetic_episode(dataset_dir: str | Path, name: str, events: list[str | None], seed: int) -> Path:
    """An episode (frames.mp4, ..., states.jsonl) with one SEGMENT-frame segment per entry of `events`."""
    from steve1.data.states import write_states

    rng = np.random.default_rng(seed)
    brightness = float(rng.uniform(0.8, 1.15))
    state = {"inv": {"dirt": 64}, "pos": [0.0, 10.0, 0.0]}
    states: list[dict] = []
    writer = EpisodeWriter(dataset_dir)
    for j, event in enumerate(events):
        frames = pattern_frames(event, SEGMENT, rng, brightness)
        seg = segment_states(event, j * SEGMENT, state)
        state = seg[-1]
        states += seg
        for frame in frames:
            writer.append(frame, {"camera": np.zeros(2)}, None)
    path = writer.finish(name, {"seed": seed, "synthetic": True})
    write_states(path, states)
    return path


def write_synthetic_dataset(dataset_dir: str | Path, n_episodes: int, seed: int,
                            segments_per_event: int = 2, blank_segments: int = 2) -> list[Path]:
    """`n_episodes` episodes, each with every event `segments_per_event` times in a seeded order."""
    rng = np.random.default_rng(seed)
    out = []
    for e in range(n_episodes):
        events: list[str | None] = [*list(EVENTS) * segments_per_event, *[None] * blank_segments]
        order = rng.permutation(len(events))
        out.append(write_synthetic_episode(dataset_dir, f"synthetic_{seed}_{e}",
                                           [events[i] for i in order], seed=seed * 1000 + e))
    return out
