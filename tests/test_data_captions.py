"""Caption rules on crafted world states: every event, priorities, held-out phrasings kept out of training."""
from __future__ import annotations

import numpy as np

from steve1.data.captions import (
    CAPTION_EVENT,
    EVENTS,
    ClipLabel,
    heldout_phrasings,
    label_clips,
    sample_phrasing,
    training_phrasings,
)


def _states(n: int, skill: str | None = None) -> list[dict]:
    s = [{"inv": {}, "pos": [0.0, 5.0, 0.0], "pitch": 0.0, "yaw": 0.0} for _ in range(n)]
    if skill:
        for x in s:
            x["skill"] = skill
    return s


def _events(states, stride=16) -> dict[int, str]:
    return {c.step: c.event for c in label_clips(states, stride=stride)}


def test_items_entering_the_inventory():
    s = _states(60)
    for t in range(20, 60):
        s[t]["inv"] = {"birch_log": 2}
    for t in range(30, 60):
        s[t]["inv"] = {"birch_log": 2, "dirt": 1}
    for t in range(45, 60):
        s[t]["inv"] = {"birch_log": 2, "dirt": 1, "wheat_seeds": 3}
    assert _events(s, stride=1000) == {20: "chop_tree", 30: "dig_dirt", 45: "collect_seeds"}


def test_placing_blocks_only_while_a_placing_skill_acts():
    s = _states(40, skill="place_blocks")
    for t in range(40):
        s[t]["inv"] = {"dirt": 10 if t < 20 else 9}
    assert _events(s, stride=1000) == {20: "place_blocks"}
    for x in s:
        x["skill"] = "explore"  # the same drop under another skill (thrown away, not placed)
    assert _events(s, stride=1000) == {}
    for x in s:
        del x["skill"]  # no skill recorded: no placement either
    assert _events(s, stride=1000) == {}


def test_building_a_tower_is_height_gained_while_placing():
    s = _states(48, skill="build_tower")
    for t in range(48):
        s[t]["inv"] = {"dirt": 20 - t // 8}  # one block placed every 8 steps
        s[t]["pos"] = [0.0, 5.0 + t / 8, 0.0]  # one block higher every 8 steps
    events = _events(s, stride=1000)
    assert set(events) == {16, 24, 32, 40}
    assert set(events.values()) == {"build_tower"}
    flat = _states(48, skill="build_tower")
    for t in range(48):
        flat[t]["inv"] = {"dirt": 20 - t // 8}
    assert set(_events(flat, stride=1000).values()) == {"place_blocks"}


def test_pose_and_motion_with_priorities():
    s = _states(96)
    s[15]["pitch"] = -75.0  # looks up
    s[31]["pitch"] = 75.0  # looks down: nothing
    for t in range(32, 48):
        s[t]["pos"] = [0.25 * (t - 32), 5.0, 0.0]  # 3.75 blocks over the clip ending at 47
    for t in range(48, 96):
        s[t]["pos"] = [3.75, 5.0, 0.0]
    s[63]["in_water"] = True
    s[63]["pitch"] = -80.0  # water wins over looking up
    s[79]["inv"] = {"dirt": 1}  # an item wins over everything
    s[79]["pitch"] = -80.0
    for t in range(80, 96):
        s[t]["inv"] = {"dirt": 1}
    assert _events(s) == {15: "look_at_sky", 47: "explore", 63: "swim", 79: "dig_dirt"}


def test_nothing_notable_gets_no_caption():
    assert label_clips(_states(64)) == []
    assert label_clips(_states(15)) == []


def test_phrasings_are_distinct_and_held_out_ones_are_never_sampled():
    everything = [p for e in EVENTS.values() for p in e.train_phrasings + e.heldout_phrasings]
    assert len(everything) == len(set(everything))  # one phrasing names one event
    rng = np.random.default_rng(0)
    for name, event in EVENTS.items():
        assert len(training_phrasings(name)) >= 3 and len(heldout_phrasings(name)) >= 1
        drawn = {sample_phrasing(name, rng) for _ in range(200)}
        assert drawn == set(event.train_phrasings)
        assert not drawn & set(heldout_phrasings(name))
        assert CAPTION_EVENT[event.caption] == name


def test_clip_label_keeps_the_caption_and_names_the_event():
    assert ClipLabel(20, "chop a tree").event == "chop_tree"
    assert label_clips([{"inv": {"oak_log": int(t >= 16)}} for t in range(20)]) == [
        ClipLabel(16, "chop a tree", "chop_tree")]
