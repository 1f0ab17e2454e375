"""Every joint class through agent -> env -> agent, and the cases that by construction cannot come back."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.vpt import actions as A

CAMERA_ON = ~A.BUTTON_CLASS_CAMERA_META_OFF & (np.arange(A.N_BUTTON_CLASSES) != A.INVENTORY_BUTTON_CLASS)
NON_NULL_CAMERAS = np.array([c for c in range(A.N_CAMERA_CLASSES) if c != A.NULL_CAMERA_CLASS])


def _canonical_pairs() -> tuple[np.ndarray, np.ndarray]:
    """Every button class once, with a camera class it can carry (cycling through the 120 moving ones)."""
    buttons = np.arange(A.N_BUTTON_CLASSES)
    camera = np.full(A.N_BUTTON_CLASSES, A.NULL_CAMERA_CLASS)
    camera[CAMERA_ON] = NON_NULL_CAMERAS[np.arange(CAMERA_ON.sum()) % len(NON_NULL_CAMERAS)]
    return buttons, camera


def test_camera_on_classes_are_the_odd_ones():
    assert np.array_equal(np.nonzero(CAMERA_ON)[0], np.arange(1, A.INVENTORY_BUTTON_CLASS, 2))


@pytest.mark.parametrize("form", ["dicts", "arrays"])
def test_all_button_classes_round_trip(form):
    buttons, camera = _canonical_pairs()
    env = A.agent_to_env(buttons, camera) if form == "dicts" else A.agent_to_env_arrays(buttons, camera)
    back_b, back_c = A.env_to_agent(env)
    np.testing.assert_array_equal(back_b, buttons)
    np.testing.assert_array_equal(back_c, camera)


def test_all_camera_classes_round_trip():
    camera = np.arange(A.N_CAMERA_CLASSES)
    buttons = np.where(camera == A.NULL_CAMERA_CLASS, A.NULL_BUTTON_CLASS, 1)  # 1 = camera only
    back_b, back_c = A.env_to_agent(A.agent_to_env(buttons, camera))
    np.testing.assert_array_equal(back_b, buttons)
    np.testing.assert_array_equal(back_c, camera)


def test_random_camera_on_pairs_round_trip():
    rng = np.random.default_rng(1)
    buttons = rng.choice(np.nonzero(CAMERA_ON)[0], 20_000)
    camera = rng.choice(NON_NULL_CAMERAS, 20_000)
    back_b, back_c = A.env_to_agent(A.agent_to_env_arrays(buttons, camera))
    np.testing.assert_array_equal(back_b, buttons)
    np.testing.assert_array_equal(back_c, camera)


def test_camera_off_class_ignores_the_sampled_camera():
    off = np.nonzero(A.BUTTON_CLASS_CAMERA_META_OFF)[0]
    buttons = np.repeat(off[::37], 3)
    camera = np.resize(NON_NULL_CAMERAS, buttons.size)
    env = A.agent_to_env_arrays(buttons, camera)
    assert not env["camera"].any()
    back_b, back_c = A.env_to_agent(env)
    np.testing.assert_array_equal(back_b, buttons)
    assert np.all(back_c == A.NULL_CAMERA_CLASS)


def test_camera_on_class_with_null_camera_comes_back_camera_off():
    buttons = np.nonzero(CAMERA_ON)[0]
    null_camera = np.full(buttons.size, A.NULL_CAMERA_CLASS)
    back_b, back_c = A.env_to_agent(A.agent_to_env_arrays(buttons, null_camera))
    np.testing.assert_array_equal(back_b, buttons - 1)  # the same buttons with the camera meta-option off
    assert np.all(back_c == A.NULL_CAMERA_CLASS)


def test_inventory_quirk_keeps_camera_in_env_but_not_back():
    """Class 8640 does not null the sampled camera (faithful); env -> agent forces camera 60 for inventory."""
    camera = NON_NULL_CAMERAS
    buttons = np.full(camera.size, A.INVENTORY_BUTTON_CLASS)
    env = A.agent_to_env(buttons, camera)
    for action, c in zip(env, camera, strict=True):
        assert action["inventory"] == 1 and sum(action[k] for k in A.BUTTONS_ALL) == 1
        np.testing.assert_array_equal(action["camera"], A.CAMERA_CLASS_DEGREES[c])
        assert np.any(action["camera"] != 0)
    back_b, back_c = A.env_to_agent(env)
    assert np.all(back_b == A.INVENTORY_BUTTON_CLASS) and np.all(back_c == A.NULL_CAMERA_CLASS)


def test_factored_round_trip_through_from_factored():
    buttons, camera = _canonical_pairs()
    b, c = A.buttons_from_factored(*A.buttons_to_factored(buttons, camera))
    np.testing.assert_array_equal(b, buttons)
    np.testing.assert_array_equal(c, camera)


def test_is_null_matches_the_env_action():
    for camera_class in (A.NULL_CAMERA_CLASS, 0, 73):
        buttons = np.arange(A.N_BUTTON_CLASSES)
        camera = np.full(buttons.size, camera_class)
        env = A.agent_to_env_arrays(buttons, camera)
        nothing = ~np.any([env[k] for k in env if k != "camera"], axis=0) & ~env["camera"].any(axis=1)
        np.testing.assert_array_equal(A.is_null(buttons, camera), nothing)
    assert A.is_null([0, 0, 1, 1, 2, 8640], [60, 7, 60, 7, 60, 60]).tolist() == [
        True, True, True, False, False, False]


def test_empty_batches():
    assert A.agent_to_env(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)) == []
    b, c = A.env_to_agent([])
    assert b.shape == c.shape == (0,) and b.dtype == c.dtype == np.int64
