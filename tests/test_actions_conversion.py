"""env -> agent conversion: random dicts in every stored format against a per-dict reference; bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_actions_camera import formula_bins

from steve1.spaces import ACTION_KEYS, BUTTON_KEYS
from steve1.vpt import actions as A

GROUPS = [
    [f"hotbar.{i}" for i in range(1, 10)],
    ["forward", "back"], ["left", "right"], ["sprint", "sneak"], ["use"], ["drop"], ["attack"], ["jump"],
]
SIZES = [10, 3, 3, 3, 2, 2, 2, 2, 2]


def reference_env_to_agent(action: dict) -> tuple[int, int]:
    """One dict at a time, written from the rules of VPT's env2policy + from_factored (not from our code)."""
    pressed = {k: int(np.asarray(action.get(k, 0)).reshape(-1)[0]) for k in A.BUTTONS_ALL}
    camera = np.asarray(action.get("camera", [0.0, 0.0]), dtype=np.float64).reshape(2)
    bins = formula_bins(camera)
    if camera[0] == -2.3166247903554 or camera[1] == -2.3166247903554:  # reference libm (see camera module)
        bins = np.where(camera == -2.3166247903554, 3, bins)
    if pressed["inventory"]:
        return A.INVENTORY_BUTTON_CLASS, A.NULL_CAMERA_CLASS
    options = []
    for group in GROUPS:
        choice = 0
        if not (len(group) == 2 and group[0] in ("forward", "left") and all(pressed[b] for b in group)):
            for i, b in enumerate(group):
                if pressed[b]:
                    choice = i + 1  # a later button overrides an earlier one
        options.append(choice)
    options.append(int(not (bins[0] == 5 and bins[1] == 5)))
    index = 0
    for option, size in zip(options, SIZES, strict=True):
        index = index * size + option
    return index, int(bins[0]) * 11 + int(bins[1])


def _stored(value: int, fmt: str):
    return {"int": value, "bool": bool(value), "np": np.int64(value), "arr": np.array([value])}[fmt]


def _camera(pitch: float, yaw: float, fmt: str):
    return {
        "list": [pitch, yaw],
        "f64": np.array([pitch, yaw]),
        "f64_1x2": np.array([[pitch, yaw]]),
        "i64": np.array([pitch, yaw]).astype(np.int64),  # contractor data: whole degrees, truncated
    }[fmt]


degrees = st.one_of(
    st.floats(-200, 200, allow_nan=False),
    st.sampled_from([0.0, -0.0, 10.0, -10.0, 180.0, -180.0, 0.27098161521014036, -7.654727864164493]),
    st.integers(-30, 30).map(lambda k: k * 0.15),
)
env_action = st.fixed_dictionaries(
    {},
    optional={k: st.integers(0, 1) for k in BUTTON_KEYS} | {"camera": st.tuples(degrees, degrees)},
)
button_format = st.sampled_from(["int", "bool", "np", "arr"])
camera_format = st.sampled_from(["list", "f64", "f64_1x2", "i64"])


def _materialise(raw: dict, bfmt: str, cfmt: str) -> dict:
    out = {k: _stored(v, bfmt) for k, v in raw.items() if k != "camera"}
    if "camera" in raw:
        out["camera"] = _camera(*raw["camera"], cfmt)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(env_action, button_format, camera_format), min_size=1, max_size=12))
def test_random_env_dicts_match_per_dict_reference(batch):
    """Formats may differ from dict to dict within one batch (the slow path) or not (the fast path)."""
    actions = [_materialise(raw, bfmt, cfmt) for raw, bfmt, cfmt in batch]
    expected = np.array([reference_env_to_agent(a) for a in actions]).reshape(-1, 2)
    buttons, camera = A.env_to_agent(actions)
    np.testing.assert_array_equal(buttons, expected[:, 0])
    np.testing.assert_array_equal(camera, expected[:, 1])
    # one format for the whole batch, as a list and as a dict of arrays
    raws = [raw for raw, _, _ in batch]
    same = [_materialise(raw, "arr", "f64_1x2") for raw in raws]
    expected = np.array([reference_env_to_agent(a) for a in same]).reshape(-1, 2)
    np.testing.assert_array_equal(np.stack(A.env_to_agent(same), 1), expected)
    arrays = {k: np.array([raw.get(k, 0) for raw in raws]) for k in BUTTON_KEYS}
    arrays["camera"] = np.array([raw.get("camera", (0.0, 0.0)) for raw in raws])
    np.testing.assert_array_equal(np.stack(A.env_to_agent(arrays), 1), expected)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, A.N_BUTTON_CLASSES - 1), st.integers(0, A.N_CAMERA_CLASSES - 1)),
                min_size=1, max_size=16))
def test_env_of_any_agent_action_is_a_fixed_point(pairs):
    """agent -> env -> agent -> env gives the same env dict as the first conversion."""
    b, c = np.array(pairs).T
    env = A.agent_to_env(b, c)
    env2 = A.agent_to_env(*A.env_to_agent(env))
    for one, two in zip(env, env2, strict=True):
        assert set(one) == set(two) == set(ACTION_KEYS)
        assert {k: one[k] for k in BUTTON_KEYS} == {k: two[k] for k in BUTTON_KEYS}
        if not one["inventory"]:  # the inventory quirk: its camera is dropped on the way back
            np.testing.assert_array_equal(one["camera"], two["camera"])


def test_stored_formats():
    contractor = {k: 0 for k in BUTTON_KEYS} | {"forward": 1, "ESC": 1}
    contractor["camera"] = np.array([1, -3], dtype=np.int64)
    mixed_agent = {k: np.array([0]) for k in A.BUTTONS_ALL} | {"forward": np.array([1])}
    mixed_agent["camera"] = np.array([[1.0, -3.0]])
    expected = reference_env_to_agent(contractor)
    assert expected == reference_env_to_agent(mixed_agent)
    for actions in ([contractor], [mixed_agent], contractor, mixed_agent, [contractor, mixed_agent]):
        b, c = A.env_to_agent(actions)
        assert b.dtype == c.dtype == np.int64
        assert set(zip(b.tolist(), c.tolist(), strict=True)) == {expected}
    # ESC / pickItem / swapHands alone are dropped: a null agent action
    for dropped_only in ([{"ESC": 1, "pickItem": 1, "swapHands": 1}], {}, [{}]):
        b, c = A.env_to_agent(dropped_only)
        assert (b.tolist(), c.tolist()) == ([0], [60])


def test_conflict_rules():
    def one(**pressed):
        b, c = A.env_to_agent([pressed])
        return A.buttons_to_factored(b, c)[0][0]

    col = {k: i for i, k in enumerate(A.BUTTONS_ALL)}
    assert not one(forward=1, back=1).any()
    assert not one(left=1, right=1).any()
    assert one(sprint=1, sneak=1)[[col["sprint"], col["sneak"]]].tolist() == [0, 1]
    assert np.nonzero(one(**{"hotbar.2": 1, "hotbar.7": 1, "hotbar.4": 1}))[0].tolist() == [col["hotbar.7"]]
    assert np.nonzero(one(inventory=1, attack=1, forward=1))[0].tolist() == [col["inventory"]]
    b, c = A.env_to_agent([{"inventory": 1, "camera": [5.0, -5.0]}])
    assert (b.tolist(), c.tolist()) == ([8640], [60])


@pytest.mark.parametrize(
    "actions, error, match",
    [
        ([{"fly": 1}], ValueError, "unknown action keys"),
        ({"forward": [1], "Forward": [0]}, ValueError, "unknown action keys"),
        ([{"camera": [1.0, 2.0, 3.0]}], ValueError, "'camera' must hold 2 values"),
        ([{"camera": [1.0]}, {"camera": [1.0, 2.0]}], ValueError, "action 0: 'camera'"),
        ([{"camera": [1.0]}, {"camera": [1.0]}], ValueError, "'camera' must hold 2 values"),
        ({"camera": np.zeros((4, 3))}, ValueError, "'camera' must have shape"),
        ([{"camera": [np.nan, 0.0]}], ValueError, "finite"),
        ({"camera": np.array([[np.inf, 0.0]])}, ValueError, "finite"),
        ([{"camera": ["a", "b"]}], TypeError, "numbers"),
        ([{"forward": 2}], ValueError, "'forward' must be 0 or 1"),
        ([{"ESC": 5}], ValueError, "'ESC' must be 0 or 1"),
        ([{"jump": np.array([1, 0])}], ValueError, "'jump' must hold one value"),
        ([{"jump": "1"}], TypeError, "'jump' must be numeric"),
        ([{"jump": None}, {"jump": 1}], ValueError, "action 0: 'jump'"),
        ({"jump": np.array([1, 0]), "camera": np.zeros(2)}, ValueError, "'jump' has shape"),
        ([{"forward": 1}, "forward"], TypeError, "action 1 must be a dict"),
        ("forward", TypeError, "list of dicts"),
        (np.zeros((3, 20)), TypeError, "list of dicts"),
    ],
)
def test_env_to_agent_bad_input(actions, error, match):
    with pytest.raises(error, match=match):
        A.env_to_agent(actions)


@pytest.mark.parametrize(
    "buttons, camera, error, match",
    [
        ([8641], [60], ValueError, "button classes must lie in 0..8640"),
        ([-1], [60], ValueError, "button classes must lie in 0..8640"),
        ([0], [121], ValueError, "camera classes must lie in 0..120"),
        ([0.0], [60], TypeError, "button classes must be integers"),
        ([0, 1], [60], ValueError, "same length"),
        (np.zeros((2, 2), dtype=int), np.zeros((2, 2), dtype=int), ValueError, r"shape \(N,\) or \(N, 1\)"),
    ],
)
def test_agent_to_env_bad_input(buttons, camera, error, match):
    with pytest.raises(error, match=match):
        A.agent_to_env(np.asarray(buttons), np.asarray(camera))


def test_from_factored_bad_input():
    with pytest.raises(ValueError, match=r"shape \(N, 20\)"):
        A.buttons_from_factored(np.zeros((2, 23), dtype=int), np.full((2, 2), 5))
    with pytest.raises(ValueError, match="must be 0 or 1"):
        A.buttons_from_factored(np.full((1, 20), 2), np.full((1, 2), 5))
    with pytest.raises(ValueError, match="camera bins"):
        A.buttons_from_factored(np.zeros((1, 20), dtype=int), np.full((1, 2), 11))


def test_agent_to_env_accepts_torch_and_column_vectors():
    b = torch.tensor([[5], [8640]])
    c = torch.tensor([[17], [3]])
    env = A.agent_to_env(b, c)
    np.testing.assert_array_equal(env[1]["camera"], A.CAMERA_CLASS_DEGREES[3])
    assert A.agent_to_env(b[:, 0].numpy(), c[:, 0].numpy())[0]["jump"] == env[0]["jump"]
