"""The VPT / STEVE-1 action space: MineRL env dicts <-> factored buttons <-> joint agent classes.

Three layouts, all batched (N actions at once, no per-action Python work beyond reading the dicts):

- env: the 24-key MineRL 1.0 action dict (`steve1.spaces`): 23 buttons 0/1 and `camera` (pitch, yaw) degrees.
- factored: 20 buttons 0/1 in `BUTTONS_ALL` order, (N, 20), plus camera bins (N, 2) (pitch bin, yaw bin),
  0..10 each (`steve1.vpt.camera`). ESC, pickItem and swapHands do not exist here: they are dropped.
- joint (what the policy's two heads predict): a button class 0..8640 and a camera class 0..120 per action.

Joint button classes (VPT `CameraHierarchicalMapping(n_camera_bins=11)`): the Cartesian product of the groups
in `BUTTON_GROUPS` (last group varies fastest) = 10·3·3·3·2·2·2·2·2 = 8640 classes, plus class 8640 =
"inventory" (exclusive). Class 0 is the null action, class 1 camera-only. Camera class = pitch_bin·11 +
yaw_bin; class 60 = (5, 5) = no motion.

factored -> joint (`buttons_from_factored`, the training labels): per group the button later in the group
wins, except forward+back or left+right together mean neither; the camera meta-option is on iff the camera
bins are not (5, 5); inventory overrides every other button and forces camera class 60.

joint -> factored (`buttons_to_factored`, inference): table lookup; the camera is forced to (5, 5) when the
class's camera meta-option is off. Faithful quirk kept: class 8640 (inventory) does NOT null the camera, so an
inventory action can come with camera motion.

Round trips agent -> env -> agent are exact except, by construction of the space:
- a camera-off class with camera class != 60 comes back with camera 60 (the sampled camera is ignored);
- a camera-on class (odd index < 8640) with camera class 60 comes back as the camera-off class (index - 1);
- class 8640 with camera class != 60 comes back with camera 60 (the inventory quirk above).

Differences from the original, none of which changes a result on valid input:
- a missing `camera` reads as (0, 0) like any missing key (the original raised KeyError);
- unknown keys, non-0/1 buttons, a camera that is not 2 finite values per action, or class indices out of
  range raise ValueError/TypeError (the original accepted some silently: e.g. a button value 2 counted as
  pressed in its group but not as inventory);
- env dicts from `agent_to_env` hold all 24 keys (ESC, pickItem, swapHands = 0) with int buttons and a (2,)
  float64 camera; the original emitted 20 keys as int arrays of shape (1,) and camera (1, 2). MineRL reads
  both the same way (absent keys are not sent, arrays are flattened).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from steve1.spaces import ACTION_KEYS, BUTTON_KEYS, CAMERA_KEY
from steve1.vpt.camera import (
    CAMERA_BIN_CENTERS,
    N_CAMERA_BINS,
    NULL_CAMERA_BIN,
    discretize_camera,
    undiscretize_camera,
)

__all__ = [
    "BUTTONS_ALL", "BUTTON_GROUPS", "N_BUTTON_CLASSES", "N_CAMERA_CLASSES", "NULL_BUTTON_CLASS",
    "NULL_CAMERA_CLASS", "INVENTORY_BUTTON_CLASS", "BUTTON_CLASS_FACTORED", "BUTTON_CLASS_CAMERA_META_OFF",
    "CAMERA_CLASS_BINS", "CAMERA_CLASS_DEGREES", "discretize_camera", "undiscretize_camera",
    "buttons_from_factored", "buttons_to_factored", "env_to_factored", "env_to_agent",
    "agent_to_env_arrays", "agent_to_env", "split_env_actions", "is_null",
]

HOTBAR_BUTTONS = tuple(f"hotbar.{i}" for i in range(1, 10))
# VPT `Buttons.ALL`: the 20 factored buttons, in this order.
BUTTONS_ALL = (
    "attack", "back", "forward", "jump", "left", "right", "sneak", "sprint", "use", "drop", "inventory",
    *HOTBAR_BUTTONS,
)
# Env buttons the agent space does not have.
DROPPED_ENV_BUTTONS = tuple(k for k in BUTTON_KEYS if k not in BUTTONS_ALL)  # ESC, pickItem, swapHands

# Mutually exclusive groups, option 0 = "none"; the joint index varies the last group fastest.
BUTTON_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hotbar", ("none", *HOTBAR_BUTTONS)),
    ("fore_back", ("none", "forward", "back")),
    ("left_right", ("none", "left", "right")),
    ("sprint_sneak", ("none", "sprint", "sneak")),
    ("use", ("none", "use")),
    ("drop", ("none", "drop")),
    ("attack", ("none", "attack")),
    ("jump", ("none", "jump")),
    ("camera", ("none", "camera")),  # camera meta-action: on iff the camera moves
)
_GROUP_SIZES = tuple(len(options) for _, options in BUTTON_GROUPS)  # (10, 3, 3, 3, 2, 2, 2, 2, 2)
_GROUP_STRIDES = tuple(int(np.prod(_GROUP_SIZES[i + 1:])) for i in range(len(_GROUP_SIZES)))
INVENTORY_BUTTON_CLASS = int(np.prod(_GROUP_SIZES))  # 8640
N_BUTTON_CLASSES = INVENTORY_BUTTON_CLASS + 1  # 8641
NULL_BUTTON_CLASS = 0
N_CAMERA_CLASSES = N_CAMERA_BINS * N_CAMERA_BINS  # 121
NULL_CAMERA_CLASS = NULL_CAMERA_BIN * N_CAMERA_BINS + NULL_CAMERA_BIN  # 60

_COL = {name: i for i, name in enumerate(BUTTONS_ALL)}
_HOTBAR_COLS = np.array([_COL[k] for k in HOTBAR_BUTTONS])
_HOTBAR_OPTION = np.arange(1, 10, dtype=np.int64)  # option index of hotbar.1 .. hotbar.9


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _build_button_tables() -> tuple[np.ndarray, np.ndarray]:
    options = np.stack(np.unravel_index(np.arange(INVENTORY_BUTTON_CLASS), _GROUP_SIZES), axis=1)  # (8640, 9)
    factored = np.zeros((N_BUTTON_CLASSES, len(BUTTONS_ALL)), dtype=np.int64)
    for g, (_, group_options) in enumerate(BUTTON_GROUPS[:-1]):
        for o, name in enumerate(group_options[1:], start=1):
            factored[:INVENTORY_BUTTON_CLASS, _COL[name]] = options[:, g] == o
    factored[INVENTORY_BUTTON_CLASS, _COL["inventory"]] = 1
    camera_meta_off = np.zeros(N_BUTTON_CLASSES, dtype=bool)
    camera_meta_off[:INVENTORY_BUTTON_CLASS] = options[:, -1] == 0  # inventory stays False (faithful quirk)
    return _readonly(factored), _readonly(camera_meta_off)


# (8641, 20) int64 0/1: factored buttons of each joint button class.
# (8641,) bool: whether the class forces the camera to the null bin (False for 8640, the inventory quirk).
BUTTON_CLASS_FACTORED, BUTTON_CLASS_CAMERA_META_OFF = _build_button_tables()
# (121, 2) int64 (pitch bin, yaw bin) and float64 degrees of each camera class.
CAMERA_CLASS_BINS = _readonly(
    np.stack(np.divmod(np.arange(N_CAMERA_CLASSES, dtype=np.int64), N_CAMERA_BINS), axis=1)
)
CAMERA_CLASS_DEGREES = _readonly(CAMERA_BIN_CENTERS[CAMERA_CLASS_BINS])
_ZERO_CAMERA = _readonly(np.zeros(2))


# ---------------------------------------------------------------------------------------------------------
# validation helpers


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor, on any device
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _class_indices(x: Any, n_classes: int, what: str) -> np.ndarray:
    """(N,) or (N, 1) integer classes -> (N,) int64, checked to lie in 0..n_classes-1."""
    a = _to_numpy(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} classes must be integers, got dtype {a.dtype}")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    elif a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ValueError(f"{what} classes must have shape (N,) or (N, 1), got {a.shape}")
    if a.size and (a.min() < 0 or a.max() >= n_classes):
        raise ValueError(f"{what} classes must lie in 0..{n_classes - 1}, got range [{a.min()}, {a.max()}]")
    return a.astype(np.int64, copy=False)


def _check_binary(a: np.ndarray, what: str) -> None:
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric 0/1 values, got dtype {a.dtype}")
    if a.dtype.kind != "b" and a.size and not np.all((a == 0) | (a == 1)):
        bad = a[(a != 0) & (a != 1)].reshape(-1)[:3]
        raise ValueError(f"{what} must be 0 or 1, got {bad.tolist()}")


# ---------------------------------------------------------------------------------------------------------
# factored <-> joint


def buttons_from_factored(buttons: np.ndarray, camera_bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factored buttons (N, 20) 0/1, camera bins (N, 2) -> joint (button class (N,), camera class (N,)) int64.

    VPT `CameraHierarchicalMapping.from_factored`, vectorised; see the module docstring for the rules.
    """
    f = _to_numpy(buttons)
    bins = _to_numpy(camera_bins)
    if f.ndim != 2 or f.shape[1] != len(BUTTONS_ALL):
        raise ValueError(f"factored buttons must have shape (N, {len(BUTTONS_ALL)}), got {f.shape}")
    if bins.shape != (f.shape[0], 2):
        raise ValueError(f"camera bins must have shape ({f.shape[0]}, 2), got {bins.shape}")
    _check_binary(f, "factored buttons")
    if bins.dtype.kind not in "iu" or (bins.size and (bins.min() < 0 or bins.max() >= N_CAMERA_BINS)):
        raise ValueError(f"camera bins must be integers in 0..{N_CAMERA_BINS - 1}, got {bins.dtype} values")
    f = f.astype(np.int64, copy=False)
    bins = bins.astype(np.int64, copy=False)

    def pair(first: str, second: str, cancel: bool) -> np.ndarray:  # option 1 = first, 2 = second
        a, b = f[:, _COL[first]], f[:, _COL[second]]
        option = np.where(b == 1, 2, a)  # the later option wins
        return np.where((a & b) == 1, 0, option) if cancel else option

    options = (
        (f[:, _HOTBAR_COLS] * _HOTBAR_OPTION).max(axis=1),  # the highest pressed hotbar wins
        pair("forward", "back", cancel=True),
        pair("left", "right", cancel=True),
        pair("sprint", "sneak", cancel=False),
        f[:, _COL["use"]],
        f[:, _COL["drop"]],
        f[:, _COL["attack"]],
        f[:, _COL["jump"]],
        np.any(bins != NULL_CAMERA_BIN, axis=1).astype(np.int64),
    )
    button_class = sum(o * s for o, s in zip(options, _GROUP_STRIDES, strict=True))
    camera_class = bins[:, 0] * N_CAMERA_BINS + bins[:, 1]
    inventory = f[:, _COL["inventory"]] == 1
    button_class = np.where(inventory, INVENTORY_BUTTON_CLASS, button_class)
    camera_class = np.where(inventory, NULL_CAMERA_CLASS, camera_class)
    return button_class.astype(np.int64, copy=False), camera_class


def buttons_to_factored(buttons: Any, camera: Any) -> tuple[np.ndarray, np.ndarray]:
    """Joint classes (N,) or (N, 1) -> factored buttons (N, 20) int64 0/1 and camera bins (N, 2) int64.

    VPT `CameraHierarchicalMapping.to_factored`: the camera is nulled where the class's camera meta-option is
    off (never for class 8640, inventory).
    """
    b = _class_indices(buttons, N_BUTTON_CLASSES, "button")
    c = _class_indices(camera, N_CAMERA_CLASSES, "camera")
    if b.shape != c.shape:
        raise ValueError(f"button classes {b.shape} and camera classes {c.shape} must have the same length")
    c = np.where(BUTTON_CLASS_CAMERA_META_OFF[b], NULL_CAMERA_CLASS, c)
    return BUTTON_CLASS_FACTORED[b], CAMERA_CLASS_BINS[c]


def is_null(buttons: Any, camera: Any) -> np.ndarray:
    """(N,) bool: the joint action does nothing in the env (no button; null camera after `to_factored`).

    This is the check VPT's `_env_action_to_agent(check_if_null=True)` meant to make (its comparison with an
    unbound method never fired). True for button class 0 with any camera, and class 1 with camera 60.
    """
    factored, bins = buttons_to_factored(buttons, camera)
    return ~factored.any(axis=1) & np.all(bins == NULL_CAMERA_BIN, axis=1)


# ---------------------------------------------------------------------------------------------------------
# env dicts -> factored / joint


def _column_from_dicts(
    actions: Sequence[Mapping], key: str, values_per_action: int, default: Any
) -> np.ndarray:
    """Values of `key` in every dict -> (N, values_per_action); the fast path is one np.asarray per column."""
    column = [a.get(key, default) for a in actions]
    n = len(column)
    try:
        a = np.asarray(column)
        if a.dtype != object and a.size == n * values_per_action:  # uniform shapes: each holds the right size
            return a.reshape(n, values_per_action)
    except (ValueError, TypeError):  # ragged: stored formats mixed across dicts
        pass
    rows = []
    for i, value in enumerate(column):
        v = np.asarray(value)
        if v.dtype == object or v.size != values_per_action:
            expected = "one value" if values_per_action == 1 else f"{values_per_action} values (pitch, yaw)"
            raise ValueError(
                f"action {i}: {key!r} must hold {expected}, got {value!r} (shape {v.shape}, dtype {v.dtype})"
            )
        rows.append(v.reshape(values_per_action))
    return np.stack(rows)


def _columns_from_arrays(actions: Mapping[str, Any]) -> tuple[int, dict[str, np.ndarray]]:
    """A dict of arrays (N actions) -> N and {key: (N,) or (N, 2) camera}; a plain action dict gives N = 1."""
    arrays = {k: _to_numpy(v) for k, v in actions.items()}
    if CAMERA_KEY in arrays:
        cam = arrays[CAMERA_KEY]
        if cam.ndim == 0 or cam.shape[-1] != 2:
            raise ValueError(
                f"'camera' must have shape (2,), (N, 2) or (N, 1, 2) (pitch, yaw degrees), got {cam.shape}"
            )
        n = cam.size // 2
        arrays[CAMERA_KEY] = cam.reshape(n, 2)
    else:
        n = next((v.size for v in arrays.values()), 1)
    for k, v in arrays.items():
        if k != CAMERA_KEY:
            if v.size != n:
                raise ValueError(f"{k!r} has shape {v.shape} but the batch has {n} actions (one value each)")
            arrays[k] = v.reshape(n)
    return n, arrays


def env_to_factored(actions: Sequence[Mapping] | Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """MineRL env actions -> factored buttons (N, 20) int64 0/1 and camera bins (N, 2) int64.

    `actions` is a list of N action dicts, or one dict of arrays with N rows per key (a single action dict
    is N = 1). Values may be scalars or arrays of shape (1,); camera (2,) or (1, 2), int or float degrees.
    Missing keys read as 0; ESC, pickItem and swapHands are dropped (VPT `ActionTransformer.env2policy`).
    """
    if isinstance(actions, Mapping):
        present = set(actions)
    else:
        if isinstance(actions, (str, bytes)) or not isinstance(actions, Sequence):
            raise TypeError(f"actions must be a list of dicts or one dict of arrays, not {type(actions)}")
        for i, a in enumerate(actions):
            if not isinstance(a, Mapping):
                raise TypeError(f"action {i} must be a dict, got {type(a).__name__}")
        present = set().union(*actions)
    unknown = present - set(ACTION_KEYS)
    if unknown:
        raise ValueError(f"unknown action keys {sorted(unknown)}; valid keys are {list(ACTION_KEYS)}")

    if isinstance(actions, Mapping):
        n, columns = _columns_from_arrays(actions)
        camera = columns.get(CAMERA_KEY)
    else:
        n = len(actions)
        columns = {k: _column_from_dicts(actions, k, 1, 0)[:, 0] for k in present if k != CAMERA_KEY}
        camera = _column_from_dicts(actions, CAMERA_KEY, 2, _ZERO_CAMERA) if CAMERA_KEY in present else None

    factored = np.zeros((n, len(BUTTONS_ALL)), dtype=np.int64)
    for key, column in columns.items():
        if key in _COL:
            _check_binary(column, f"button {key!r}")
            factored[:, _COL[key]] = column
    for key in DROPPED_ENV_BUTTONS:
        if key in columns:
            _check_binary(columns[key], f"button {key!r}")
    if camera is None:
        bins = np.full((n, 2), NULL_CAMERA_BIN, dtype=np.int64)
    else:
        if camera.dtype.kind not in "biuf":
            raise TypeError(f"'camera' must hold numbers (degrees), got dtype {camera.dtype}")
        bins = discretize_camera(camera)
    return factored, bins


def env_to_agent(actions: Sequence[Mapping] | Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """MineRL env actions -> joint (button class (N,), camera class (N,)) int64. See `env_to_factored`."""
    return buttons_from_factored(*env_to_factored(actions))


# ---------------------------------------------------------------------------------------------------------
# joint -> env dicts


def agent_to_env_arrays(buttons: Any, camera: Any) -> dict[str, np.ndarray]:
    """Joint classes (N,) or (N, 1) -> {each of the 23 env buttons: (N,) int64, 'camera': (N, 2) float64 deg}.

    Keys in `steve1.spaces.ACTION_KEYS` order; ESC, pickItem and swapHands are always 0.
    """
    factored, bins = buttons_to_factored(buttons, camera)
    n = factored.shape[0]
    out: dict[str, np.ndarray] = {}
    for key in ACTION_KEYS:
        if key == CAMERA_KEY:
            out[key] = undiscretize_camera(bins)
        elif key in _COL:
            out[key] = factored[:, _COL[key]].copy()
        else:
            out[key] = np.zeros(n, dtype=np.int64)
    return out


def split_env_actions(arrays: Mapping[str, np.ndarray]) -> list[dict]:
    """A dict of arrays (N rows per key) -> N env action dicts (python int buttons, camera (2,) array)."""
    n = len(arrays[CAMERA_KEY]) if CAMERA_KEY in arrays else len(next(iter(arrays.values()), ()))
    keys = [k for k in arrays if k != CAMERA_KEY]
    rows = zip(*(np.asarray(arrays[k]).reshape(n).tolist() for k in keys), strict=True) if keys else ((),) * n
    actions = [dict(zip(keys, row, strict=True)) for row in rows]
    if CAMERA_KEY in arrays:
        camera = np.array(arrays[CAMERA_KEY], dtype=np.float64).reshape(n, 2)  # private copy, one row each
        for action, row in zip(actions, camera, strict=True):
            action[CAMERA_KEY] = row
    return actions


def agent_to_env(buttons: Any, camera: Any) -> list[dict]:
    """Joint classes (N,) or (N, 1) -> N MineRL env action dicts with all 24 keys.

    Buttons are python ints, camera a (2,) float64 array of (pitch, yaw) degrees. VPT
    `MineRLAgent._agent_action_to_env` (to_factored then policy2env), batched.
    """
    return split_env_actions(agent_to_env_arrays(buttons, camera))
