"""IDM predictions -> MineRL env action dicts (VPT `IDMActionMapping` + `ActionTransformer.policy2env`).

Each frame's action is a dict with the 24 MineRL 1.0 keys (`steve1.spaces.ACTION_KEYS`): the 20 IDM buttons
as python ints 0/1 (ESC, pickItem, swapHands always 0) and `camera` a (2,) float64 array of (pitch, yaw)
degrees, the mu-law bin centres (0, +-0.615, +-1.609, +-3.215, +-5.809, +-10). This is the layout
`steve1.vpt.actions.agent_to_env` writes and `env_to_agent` reads.

The IDM's buttons are independent binaries, so a label may hold combinations the policy's joint space
cannot express (forward + back, several hotbar keys, inventory with movement). They are stored as predicted;
`env_to_agent` applies the joint-space rules (forward + back cancel, the highest hotbar wins, inventory
overrides) when the trainer turns them into classes, as for contractor data.
"""

from __future__ import annotations

import numpy as np

from steve1.idm.config import N_CAMERA_AXES, N_IDM_BUTTONS, N_IDM_CAMERA_BINS
from steve1.spaces import ACTION_KEYS, CAMERA_KEY
from steve1.vpt.actions import BUTTONS_ALL, split_env_actions
from steve1.vpt.camera import undiscretize_camera


def idm_to_env_arrays(buttons: np.ndarray, camera: np.ndarray) -> dict[str, np.ndarray]:
    """buttons (N, 20) 0/1, camera (N, 2) bins 0..10 -> {each of the 24 keys: (N,) int64 / camera (N, 2)}."""
    buttons, camera = np.asarray(buttons), np.asarray(camera)
    n = len(buttons)
    if buttons.shape != (n, N_IDM_BUTTONS) or buttons.dtype.kind not in "biu":
        raise ValueError(
            f"buttons must be (N, {N_IDM_BUTTONS}) integers 0/1, got {buttons.shape} {buttons.dtype}"
        )
    if camera.shape != (n, N_CAMERA_AXES) or camera.dtype.kind not in "iu":
        raise ValueError(
            f"camera must be ({n}, {N_CAMERA_AXES}) integer bins, got {camera.shape} {camera.dtype}"
        )
    if n and (
        buttons.min() < 0 or buttons.max() > 1 or camera.min() < 0 or camera.max() >= N_IDM_CAMERA_BINS
    ):
        raise ValueError(f"buttons must be 0/1 and camera bins 0..{N_IDM_CAMERA_BINS - 1}")
    column = {name: i for i, name in enumerate(BUTTONS_ALL)}
    out: dict[str, np.ndarray] = {}
    for key in ACTION_KEYS:
        if key == CAMERA_KEY:
            out[key] = undiscretize_camera(camera.astype(np.int64))  # (N, 2) float64 degrees
        elif key in column:
            out[key] = buttons[:, column[key]].astype(np.int64)
        else:  # ESC, pickItem, swapHands: not predicted by the IDM
            out[key] = np.zeros(n, dtype=np.int64)
    return out


def idm_to_env(buttons: np.ndarray, camera: np.ndarray) -> list[dict]:
    """buttons (N, 20), camera bins (N, 2) -> N MineRL env action dicts (see the module docstring)."""
    return split_env_actions(idm_to_env_arrays(buttons, camera))
