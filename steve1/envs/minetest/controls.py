"""MineRL action dict -> Minetest 5.6 default controls (X keysyms, mouse buttons, mouse pixels).

Differences from MineRL, by necessity: Minetest Game has no pick-block and no off-hand, so `pickItem` and
`swapHands` do nothing; `sprint` holds Aux1, which the bridge mod turns into Minecraft's 1.3x sprint speed;
`ESC` only closes an open inventory (in Minetest, Escape with nothing open shows the pause menu, which would
stop a singleplayer game).
"""
from __future__ import annotations

import math

import numpy as np

from steve1.spaces import CAMERA_KEY, validate_action

# MineRL button -> X keysym of Minetest's default key for it.
KEY_FOR_BUTTON = {
    "forward": "w", "back": "s", "left": "a", "right": "d",
    "jump": "space", "sneak": "Shift_L", "sprint": "e",  # Aux1
    "inventory": "i", "drop": "q",
    **{f"hotbar.{i}": str(i) for i in range(1, 10)},
}
MOUSE_BUTTON_FOR_BUTTON = {"attack": 1, "use": 3}  # left: dig/punch, right: place/use
UNMAPPED_BUTTONS = ("pickItem", "swapHands")
ESCAPE_KEYSYM = "Escape"

PITCH_LIMIT_DEGREES = 90.0  # MineRL clamps the pitch to [-90, 90]


class Look:
    """The commanded absolute look in MineRL degrees: pitch (down positive, clamped to [-90, 90] as in
    MineRL) and yaw (grows turning right, kept in [-180, 180)). Camera actions add to it exactly."""

    def __init__(self):
        self.pitch, self.yaw = 0.0, 0.0

    def set(self, pitch: float, yaw: float) -> None:
        self.pitch = float(np.clip(pitch, -PITCH_LIMIT_DEGREES, PITCH_LIMIT_DEGREES))
        self.yaw = (float(yaw) + 180.0) % 360.0 - 180.0

    def turn(self, camera) -> None:
        """Add a MineRL camera action (pitch, yaw) degrees."""
        d_pitch, d_yaw = (float(v) for v in np.asarray(camera, dtype=np.float64).reshape(2))
        self.set(self.pitch + d_pitch, self.yaw + d_yaw)

    def degrees(self) -> tuple[float, float]:
        return self.pitch, self.yaw

    def minetest_radians(self) -> tuple[float, float]:
        """(yaw, pitch) in Minetest's convention: radians, yaw counter-clockwise, pitch down positive."""
        return math.radians(-self.yaw) % (2 * math.pi), math.radians(self.pitch)


# Mouse motion now moves only an open inventory's cursor (the camera goes through the world mod).
# Minetest turns the view by mouse_sensitivity * tan(fov_y / 2) * 1.3763818698 degrees per pixel
# (Game::getSensitivityScaleFactor, 1.0 at 72 degrees); we choose the sensitivity that gives this many:
DEGREES_PER_PIXEL = 0.1


def mouse_sensitivity_for(fov_degrees: float, degrees_per_pixel: float = DEGREES_PER_PIXEL) -> float:
    """Minetest's `mouse_sensitivity` setting that turns the view by degrees_per_pixel per mouse pixel."""
    return degrees_per_pixel / (math.tan(math.radians(fov_degrees) / 2) * 1.3763818698)


class CameraToPixels:
    """Camera degrees (pitch, yaw) -> whole mouse pixels (dx, dy), carrying the sub-pixel remainder over."""

    def __init__(self, degrees_per_pixel: float = DEGREES_PER_PIXEL):
        self.degrees_per_pixel = degrees_per_pixel
        self._remainder = np.zeros(2)  # (dx, dy) pixels not yet sent

    def __call__(self, camera) -> tuple[int, int]:
        pitch, yaw = (float(v) for v in np.asarray(camera, dtype=np.float64).reshape(2))
        wanted = self._remainder + np.array([yaw, pitch]) / self.degrees_per_pixel  # right, down
        sent = np.round(wanted)
        self._remainder = wanted - sent
        return int(sent[0]), int(sent[1])

    def reset(self) -> None:
        self._remainder[:] = 0


def room_to_edge(pointer: int, size: int, direction: int, margin: int = 2) -> int:
    """How many pixels the pointer can move in `direction` (sign) before it is clamped at the screen edge."""
    return max(0, (size - 1 - margin - pointer) if direction > 0 else (pointer - margin))


def pressed_inputs(action: dict) -> tuple[frozenset, frozenset]:
    """The (keysyms, mouse buttons) a validated action holds down (ESC and toggles handled by the caller)."""
    keys = frozenset(sym for button, sym in KEY_FOR_BUTTON.items() if action.get(button, 0))
    buttons = frozenset(num for button, num in MOUSE_BUTTON_FOR_BUTTON.items() if action.get(button, 0))
    return keys, buttons


def checked_action(action: dict) -> dict:
    """Validate a MineRL action dict (missing keys count as 0) and return it."""
    if not isinstance(action, dict):
        raise TypeError(f"an action must be a dict of MineRL keys, got {type(action).__name__}")
    validate_action(action)
    return action


__all__ = ["CAMERA_KEY", "PITCH_LIMIT_DEGREES", "CameraToPixels", "KEY_FOR_BUTTON", "Look",
           "MOUSE_BUTTON_FOR_BUTTON", "checked_action", "mouse_sensitivity_for", "pressed_inputs",
           "room_to_edge"]
