"""The MineRL 1.0 observation and action layout that every world and agent in steve1 speaks.

An action is a dict with the 24 keys of MineRL 1.0 `HumanSurvival`: 23 buttons (0/1) and `camera`, a
(pitch, yaw) delta in degrees (positive pitch looks down, positive yaw turns right). An observation holds at
least `pov` (360, 640, 3) uint8 RGB, `inventory` (MineRL item name -> count), `location_stats` (xpos, ypos,
zpos, pitch, yaw) and `life_stats` (life, ...).
"""
from __future__ import annotations

import numpy as np

POV_HEIGHT = 360  # MineRL resolution [640, 360] (width, height)
POV_WIDTH = 640
POV_SHAPE = (POV_HEIGHT, POV_WIDTH, 3)
FOV_DEGREES = 70  # STEVE-1's ENV_KWARGS fov_range [70, 70]
STEPS_PER_SECOND = 20  # MineRL MS_PER_STEP = 50

HOTBAR_KEYS = tuple(f"hotbar.{i}" for i in range(1, 10))

# The 23 button keys of MineRL 1.0 HumanSurvival, in the env's (sorted) order, then camera.
BUTTON_KEYS = (
    "ESC", "attack", "back", "drop", "forward", *HOTBAR_KEYS, "inventory", "jump", "left",
    "pickItem", "right", "sneak", "sprint", "swapHands", "use",
)
CAMERA_KEY = "camera"
ACTION_KEYS = tuple(sorted(BUTTON_KEYS + (CAMERA_KEY,)))  # the 24 keys
CAMERA_LIMIT_DEGREES = 180.0  # Box(-180, 180, shape (2,))


def noop_action() -> dict:
    """A MineRL action dict that does nothing: every button 0 and a zero camera."""
    action = {key: 0 for key in BUTTON_KEYS}
    action[CAMERA_KEY] = np.zeros(2, dtype=np.float32)
    return action


def validate_action(action: dict) -> None:
    """Raise ValueError naming what is wrong with a MineRL action dict (unknown keys, bad camera)."""
    unknown = set(action) - set(ACTION_KEYS)
    if unknown:
        raise ValueError(f"unknown action keys {sorted(unknown)}; valid keys are {list(ACTION_KEYS)}")
    if CAMERA_KEY in action:
        camera = np.asarray(action[CAMERA_KEY], dtype=np.float64).reshape(-1)
        if camera.shape != (2,):
            raise ValueError(f"action['camera'] must hold (pitch, yaw) degrees, got shape {camera.shape}")
        if not np.all(np.isfinite(camera)):
            raise ValueError(f"action['camera'] must be finite, got {camera}")
