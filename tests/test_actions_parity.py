"""steve1.vpt.actions against the original's golden tables (tests/fixtures/parity/action_mapping.pt)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import load_parity

from steve1.spaces import ACTION_KEYS
from steve1.vpt import actions as A
from steve1.vpt import camera as C


@pytest.fixture(scope="module")
def golden() -> dict:
    return load_parity("action_mapping.pt")


def _env_dicts(golden: dict) -> list[dict]:
    """The 200 golden env actions as stored-format dicts: python int buttons, float64 camera (2,)."""
    keys = golden["inputs"]["env_action_keys"][:-1]
    buttons = golden["inputs"]["env_actions"]["buttons"].numpy()
    camera = golden["inputs"]["env_actions"]["camera"].numpy()
    rows = zip(buttons.tolist(), camera, strict=True)
    return [dict(zip(keys, row, strict=True), camera=cam) for row, cam in rows]


def test_constants_and_groups(golden):
    cfg, out = golden["config"], golden["outputs"]
    assert A.BUTTONS_ALL == tuple(cfg["buttons_all"])
    assert [(name, list(opts)) for name, opts in A.BUTTON_GROUPS] == [
        (name, list(opts)) for name, opts in cfg["buttons_groups"].items()
    ]
    assert (A.N_BUTTON_CLASSES, A.N_CAMERA_CLASSES) == (cfg["n_button_classes"], cfg["n_camera_classes"])
    assert A.NULL_CAMERA_CLASS == out["camera_null_idx"] == 60
    assert A.NULL_BUTTON_CLASS == out["null_button_idx"] == 0
    kw = cfg["action_transformer_kwargs"]
    assert (C.CAMERA_BINSIZE, C.CAMERA_MAXVAL, C.CAMERA_MU) == (
        kw["camera_binsize"], kw["camera_maxval"], kw["camera_mu"])
    assert C.N_CAMERA_BINS == cfg["n_camera_bins"] and C.NULL_CAMERA_BIN == out["camera_null_bin"]


def test_button_class_tables(golden):
    out = golden["outputs"]
    np.testing.assert_array_equal(A.BUTTON_CLASS_FACTORED, out["button_class_factored"].numpy())
    np.testing.assert_array_equal(A.BUTTON_CLASS_CAMERA_META_OFF, out["button_class_camera_meta_off"].numpy())
    assert not A.BUTTON_CLASS_CAMERA_META_OFF[A.INVENTORY_BUTTON_CLASS]  # the inventory quirk
    assert int((~A.BUTTON_CLASS_CAMERA_META_OFF).sum()) == 4321


def test_button_class_combinations(golden):
    """Class i is the i-th product of BUTTON_GROUPS (last group fastest), then 'inventory'."""
    sizes = [len(opts) for _, opts in A.BUTTON_GROUPS]
    digits = np.stack(np.unravel_index(np.arange(A.INVENTORY_BUTTON_CLASS), sizes), axis=1)
    ours = [[A.BUTTON_GROUPS[g][1][o] for g, o in enumerate(row)] for row in digits.tolist()]
    theirs = golden["outputs"]["button_class_combination"]
    assert len(theirs) == A.N_BUTTON_CLASSES
    assert ours == [list(c) for c in theirs[:-1]]
    assert list(theirs[-1]) == ["inventory"]


def test_camera_class_tables(golden):
    out = golden["outputs"]
    np.testing.assert_array_equal(A.CAMERA_CLASS_BINS, out["camera_class_factored"].numpy())
    np.testing.assert_array_equal(A.CAMERA_CLASS_DEGREES, out["camera_class_degrees"].numpy())  # bit-exact
    # and through the public path: class 1 (camera-only) with every camera class
    env = A.agent_to_env_arrays(np.ones(121, dtype=np.int64), np.arange(121))
    np.testing.assert_array_equal(env["camera"], out["camera_class_degrees"].numpy())


def test_camera_quantisation_grid(golden):
    q = golden["outputs"]["camera_quantization"]
    degrees = q["degrees"].numpy()
    assert degrees.shape == (631,)
    bins = A.discretize_camera(degrees)
    np.testing.assert_array_equal(bins, q["bins"].numpy())
    np.testing.assert_array_equal(A.undiscretize_camera(bins), q["undiscretized"].numpy())
    np.testing.assert_array_equal(A.undiscretize_camera(np.arange(11)), q["bin_centers"].numpy())
    # shape is kept: the grid as (N, 2) gives the same bins
    pairs = degrees[:630].reshape(315, 2)
    np.testing.assert_array_equal(A.discretize_camera(pairs), q["bins"].numpy()[:630].reshape(315, 2))


def test_pairs_policy_to_env(golden):
    pairs = golden["outputs"]["pairs"]
    buttons, camera = pairs["buttons"].numpy(), pairs["camera"].numpy()
    factored, bins = A.buttons_to_factored(buttons, camera)
    np.testing.assert_array_equal(factored, pairs["factored_buttons"].numpy())
    np.testing.assert_array_equal(bins, pairs["factored_camera"].numpy())
    # (N, 1) shaped classes, as the policy heads emit them, give the same
    factored1, bins1 = A.buttons_to_factored(buttons[:, None], camera[:, None])
    np.testing.assert_array_equal(factored1, factored)
    np.testing.assert_array_equal(bins1, bins)

    arrays = A.agent_to_env_arrays(buttons, camera)
    assert tuple(arrays) == ACTION_KEYS
    for key, expected in pairs["env"].items():
        np.testing.assert_array_equal(arrays[key], expected.numpy(), err_msg=key)
    for key in ("ESC", "pickItem", "swapHands"):
        assert not arrays[key].any()

    dicts = A.agent_to_env(buttons, camera)
    assert len(dicts) == 300
    for i in (0, 1, 2, 3, 8, 150, 299):
        assert set(dicts[i]) == set(ACTION_KEYS)
        for key, expected in pairs["env"].items():
            np.testing.assert_array_equal(dicts[i][key], expected.numpy()[i], err_msg=f"{i} {key}")
        assert dicts[i]["camera"].shape == (2,) and dicts[i]["camera"].dtype == np.float64
        assert type(dicts[i]["forward"]) is int


def test_env_to_policy_list_of_dicts(golden):
    expected = golden["outputs"]["env_to_policy"]
    actions = _env_dicts(golden)
    factored, bins = A.env_to_factored(actions)
    np.testing.assert_array_equal(factored, expected["factored_buttons"].numpy())
    np.testing.assert_array_equal(bins, expected["camera_bins"].numpy())
    buttons, camera = A.env_to_agent(actions)
    assert buttons.dtype == camera.dtype == np.int64 and buttons.shape == camera.shape == (200,)
    np.testing.assert_array_equal(buttons, expected["buttons"].numpy()[:, 0])
    np.testing.assert_array_equal(camera, expected["camera"].numpy()[:, 0])


def test_env_to_policy_dict_of_arrays_and_one_at_a_time(golden):
    expected = golden["outputs"]["env_to_policy"]
    keys = golden["inputs"]["env_action_keys"]
    arrays = {k: golden["inputs"]["env_actions"]["buttons"].numpy()[:, j] for j, k in enumerate(keys[:-1])}
    arrays["camera"] = golden["inputs"]["env_actions"]["camera"].numpy()
    buttons, camera = A.env_to_agent(arrays)
    np.testing.assert_array_equal(buttons, expected["buttons"].numpy()[:, 0])
    np.testing.assert_array_equal(camera, expected["camera"].numpy()[:, 0])
    # torch tensors are accepted too
    buttons_t, _ = A.env_to_agent({k: torch.as_tensor(v) for k, v in arrays.items()})
    np.testing.assert_array_equal(buttons_t, buttons)
    # each dict alone, in the mixed-agent stored format: (1,) int arrays, camera (1, 2) float64
    for i, action in enumerate(_env_dicts(golden)):
        stored = {k: np.array([v]) for k, v in action.items() if k != "camera"}
        stored["camera"] = action["camera"].reshape(1, 2)
        b, c = A.env_to_agent(stored)
        assert (b[0], c[0]) == (expected["buttons"][i, 0].item(), expected["camera"][i, 0].item()), i


def test_env_to_policy_missing_keys(golden):
    inputs, outputs = golden["inputs"]["env_actions_partial"], golden["outputs"]["env_to_policy_partial"]
    for action, expected in zip(inputs, outputs, strict=True):
        as_dict = {k: v.numpy() for k, v in action.items()}
        factored, bins = A.env_to_factored(as_dict)
        np.testing.assert_array_equal(factored, expected["factored_buttons"].numpy())
        np.testing.assert_array_equal(bins, expected["camera_bins"].numpy())
        for form in (as_dict, [as_dict]):
            buttons, camera = A.env_to_agent(form)
            np.testing.assert_array_equal(buttons, expected["buttons"].numpy()[:, 0])
            np.testing.assert_array_equal(camera, expected["camera"].numpy()[:, 0])
