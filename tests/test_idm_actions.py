"""IDM predictions -> MineRL env dicts that `steve1.vpt.actions` reads back exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from steve1.idm.actions import idm_to_env, idm_to_env_arrays
from steve1.spaces import ACTION_KEYS, validate_action
from steve1.vpt.actions import BUTTONS_ALL, env_to_factored
from steve1.vpt.camera import CAMERA_BIN_CENTERS


@given(
    st.integers(0, 30).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, (n, 20), elements=st.integers(0, 1)),
            arrays(np.int64, (n, 2), elements=st.integers(0, 10)),
        )
    )
)
@settings(max_examples=50, deadline=None)
def test_round_trip_through_env_dicts(pred):
    buttons, camera = pred
    actions = idm_to_env(buttons, camera)
    assert len(actions) == len(buttons)
    for a in actions:
        assert set(a) == set(ACTION_KEYS)
        assert a["ESC"] == a["pickItem"] == a["swapHands"] == 0
        assert all(type(a[k]) is int for k in BUTTONS_ALL)
        assert a["camera"].shape == (2,) and a["camera"].dtype == np.float64
        validate_action(a)
    back_b, back_c = env_to_factored(actions) if len(actions) else (buttons, camera)
    np.testing.assert_array_equal(back_b, buttons)
    np.testing.assert_array_equal(back_c, camera)


def test_independent_buttons_are_kept_and_camera_is_bin_centres():
    buttons = np.zeros((1, 20), np.int64)
    for key in ("forward", "back", "left", "right", "inventory", "hotbar.2", "hotbar.7"):
        buttons[0, BUTTONS_ALL.index(key)] = 1  # combinations the policy's joint space cannot hold
    [a] = idm_to_env(buttons, np.array([[0, 7]]))
    assert a["forward"] == a["back"] == a["left"] == a["right"] == a["inventory"] == a["hotbar.7"] == 1
    np.testing.assert_array_equal(a["camera"], [CAMERA_BIN_CENTERS[0], CAMERA_BIN_CENTERS[7]])
    assert a["camera"][0] == -10.0
    arrays_ = idm_to_env_arrays(buttons, np.array([[5, 5]]))
    assert arrays_["camera"].tolist() == [[0.0, 0.0]]


def test_bad_predictions_rejected():
    with pytest.raises(ValueError, match=r"\(N, 20\)"):
        idm_to_env(np.zeros((2, 8641), np.int64), np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="camera bins 0..10"):
        idm_to_env(np.zeros((1, 20), np.int64), np.array([[11, 0]]))
    with pytest.raises(ValueError, match="integer bins"):
        idm_to_env(np.zeros((1, 20), np.int64), np.zeros((1, 2)))
