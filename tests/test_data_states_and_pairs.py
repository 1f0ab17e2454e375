"""Clip captions (canonical labels) on scripted state sequences, per-step states, and the data.pkl they
produce."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.data.captions import EXPLORE, SKY, SWIM, build_prior_pairs, label_clips
from steve1.data.episode import Episode, EpisodeWriter
from steve1.data.states import StatesError, read_states, state_of, write_states
from steve1.prior.data import load_prior_data


def _states(n: int, **overrides) -> list[dict]:
    return [{"inv": {}, "pos": [0.0, 5.0, 0.0], "pitch": 0.0, "yaw": 0.0} for _ in range(n)]


def test_inventory_rises_label_the_clip_ending_at_that_step():
    s = _states(60)
    for t in range(20, 60):
        s[t]["inv"] = {"spruce_log": 1}
    for t in range(40, 60):
        s[t]["inv"] = {"spruce_log": 1, "dirt": 2}
    for t in range(50, 60):
        s[t]["inv"] = {"spruce_log": 1, "dirt": 2, "wheat_seeds": 1}
    labels = {c.step: c.label for c in label_clips(s, stride=1000)}
    assert labels == {20: "chop a tree", 40: "dig dirt", 50: "collect seeds"}


def test_rise_before_a_whole_clip_is_not_labelled_and_drops_are_ignored():
    s = _states(40)
    for t in range(5, 40):
        s[t]["inv"] = {"oak_log": 1}  # step 5: fewer than 16 frames of clip
    for t in range(30, 40):
        s[t]["inv"] = {}  # dropped: not an event
    assert label_clips(s, stride=1000) == []


def test_pose_and_motion_labels_with_priority():
    s = _states(80)
    s[15]["pitch"] = -75.0  # looks up (MineRL: negative pitch is up)
    s[31]["pitch"] = 75.0  # looks down: nothing
    for t in range(32, 48):
        s[t]["pos"] = [0.25 * (t - 32), 5.0, 0.0]  # 3.75 blocks over the clip ending at 47
    s[63]["in_water"] = True
    s[63]["pitch"] = -80.0  # water wins over looking up
    s[79]["inv"] = {"dirt": 1}  # an item event wins over everything
    s[79]["pitch"] = -80.0
    labels = {c.step: c.label for c in label_clips(s, stride=16)}
    assert labels == {15: SKY, 47: EXPLORE, 63: SWIM, 79: "dig dirt"}


def test_short_episode_has_no_clips():
    assert label_clips(_states(15)) == []


def test_state_of_reads_minerl_observation():
    obs = {"inventory": {"dirt": 2, "oak_log": 0}, "location_stats": {"xpos": 1, "ypos": 2, "zpos": 3,
                                                                      "pitch": -10, "yaw": 5}}
    assert state_of(obs) == {"inv": {"dirt": 2}, "pos": [1.0, 2.0, 3.0], "pitch": -10.0, "yaw": 5.0}
    assert state_of({**obs, "is_in_water": True})["in_water"] is True


class _World:
    def __init__(self):
        self.t = 0

    def _obs(self):
        return {"pov": np.zeros((4, 4, 3), np.uint8), "inventory": {"dirt": int(self.t >= 20)},
                "location_stats": {"xpos": 0, "ypos": 0, "zpos": 0, "pitch": -70.0 * (self.t == 31),
                                   "yaw": 0}}

    def reset(self, seed=None):
        self.t = 0
        return self._obs(), {"seed": seed}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, False, False, {}

    def close(self):
        pass


def _episode(tmp_path, seed: int, n: int, rng) -> tuple:
    world = _World()
    states = [state_of(world.reset(seed=seed)[0])]
    w = EpisodeWriter(tmp_path)
    for t in range(n):
        embed = None if t < 15 else rng.standard_normal((1, 512)).astype(np.float32)
        w.append(np.zeros((128, 128, 3), np.uint8), {"camera": np.zeros(2)}, embed)
        states.append(state_of(world.step({})[0]))
    return w.finish(f"ep{seed}", {"seed": seed}), states[:n]


def test_pairs_are_written_in_the_released_layout(tmp_path):
    rng = np.random.default_rng(0)
    (ep1, states1), (ep2, states2) = _episode(tmp_path, 7, 40, rng), _episode(tmp_path, 8, 40, rng)
    write_states(ep1, states1)
    write_states(ep2, states2)
    assert len(read_states(ep1)) == 40

    def embed_texts(texts):
        return np.stack([np.full(512, len(t), np.float32) for t in texts])

    summary = build_prior_pairs([ep1, ep2], embed_texts, tmp_path / "data.pkl", stride=16)
    assert summary["per_label"] == {"dig dirt": 2, SKY: 2}
    text, visual = load_prior_data(tmp_path / "data.pkl")
    assert text.shape == visual.shape == (4, 512)
    embeds = [np.asarray(e).reshape(-1) for e in Episode(ep1).embeds()]
    by_step = {c["step"]: i for i, c in enumerate(summary["clips"]) if c["episode"] == "ep7"}
    np.testing.assert_array_equal(visual[by_step[20]], embeds[20])
    np.testing.assert_array_equal(text[by_step[20]], np.full(512, len("dig dirt")))
    np.testing.assert_array_equal(visual[by_step[31]], embeds[31])


def test_missing_or_truncated_states_are_clear_errors(tmp_path):
    rng = np.random.default_rng(0)
    ep, _ = _episode(tmp_path, 1, 20, rng)
    with pytest.raises(StatesError, match="not found"):
        read_states(ep)
    (ep / "states.jsonl").write_text('{"inv": {}}\n{"inv"')
    with pytest.raises(StatesError, match="line 2"):
        read_states(ep)
    (ep / "states.jsonl").write_text('{"inv": {}}\n')
    with pytest.raises(StatesError, match="1 states for 20 frames"):
        read_states(ep, 20)


def test_no_label_at_all_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    ep, _ = _episode(tmp_path, 1, 18, rng)
    (ep / "states.jsonl").write_text("".join('{"inv": {}, "pos": [0,0,0], "pitch": 0}\n' for _ in range(18)))
    with pytest.raises(ValueError, match="no clip"):
        build_prior_pairs([ep], lambda t: np.zeros((len(t), 512)), tmp_path / "d.pkl")
    assert not (tmp_path / "d.pkl").exists()


def test_prior_data_verb_pairs_the_mineclip_text_embedding_with_the_stored_clip(tmp_path):
    """`steve1 prior-data`: the caption's text embedding from the named MineCLIP, the clip's stored visual
    embedding, and a labels file saying which clip each pair came from."""
    import json

    from steve1.data import prior_pairs
    from steve1.mineclip import MineClipEmbedder, resolve_mineclip

    rng = np.random.default_rng(1)
    ep, states = _episode(tmp_path / "eps", 7, 40, rng)
    write_states(ep, states)
    out = tmp_path / "prior" / "data.pkl"
    argv = ["--episodes", str(tmp_path / "eps"), "--mineclip", "tiny", "--out", str(out)]
    assert prior_pairs.main(argv) == 0
    text, visual = load_prior_data(out)
    labels = json.loads((tmp_path / "prior" / "data.pkl.labels.json").read_text())
    assert labels["per_label"] == {"dig dirt": 1, SKY: 1} and labels["n_pairs"] == len(text) == 2
    embedder = MineClipEmbedder(resolve_mineclip("tiny", None, device="cpu")[0], device="cpu")
    for row, clip in enumerate(labels["clips"]):
        np.testing.assert_allclose(text[row], embedder.embed_texts([clip["label"]])[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(visual[row], np.asarray(Episode(ep).embeds()[clip["step"]]).reshape(-1))


def test_prior_data_verb_refuses_episodes_without_states(tmp_path, capsys):
    from steve1.data import prior_pairs

    _episode(tmp_path / "eps", 7, 40, np.random.default_rng(1))  # no states.jsonl written
    code = prior_pairs.main(["--episodes", str(tmp_path / "eps"), "--mineclip", "tiny",
                             "--out", str(tmp_path / "d.pkl")])
    assert code != 0 and "states.jsonl not found" in capsys.readouterr().err
    assert not (tmp_path / "d.pkl").exists()
