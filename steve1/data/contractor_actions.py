"""VPT contractor `.jsonl` steps -> MineRL actions, as STEVE-1's converter does it.

Faithful by default:
- keyboard keys map through `KEYBOARD_BUTTON_MAPPING`, mouse buttons 0/1/2 -> attack/use/pickItem;
- camera = (dy, dx) * 360/2400 degrees, **truncated toward zero to whole degrees** (the original writes
  into an integer array; issue #54). `exact_camera=True` keeps the exact value as float32 instead;
- a step is null (and dropped, frame included) unless a mapped key or mouse button is held or dx/dy != 0;
- stuck attack: if step 0's newButtons == [0], button 0 is ignored until a later step presses it anew;
- hotbar scroll: a change of `hotbar` sets `hotbar.<h+1>`, decided after the null test (so a change on a null
  step is lost, as in the original).

Differences (documented, on purpose):
- A line that is not valid JSON (typically a truncated last line of an interrupted upload) ends the episode
  there: the steps before it are kept and the drop is reported. The original discards the whole episode.
- A step without `hotbar` (recorder versions before 6.11) keeps the previous hotbar; the original raises and
  discards the episode.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from steve1.spaces import BUTTON_KEYS, CAMERA_KEY

KEYBOARD_BUTTON_MAPPING = {
    "key.keyboard.escape": "ESC",
    "key.keyboard.s": "back",
    "key.keyboard.q": "drop",
    "key.keyboard.w": "forward",
    **{f"key.keyboard.{i}": f"hotbar.{i}" for i in range(1, 10)},
    "key.keyboard.e": "inventory",
    "key.keyboard.space": "jump",
    "key.keyboard.a": "left",
    "key.keyboard.d": "right",
    "key.keyboard.left.shift": "sneak",
    "key.keyboard.left.control": "sprint",
    "key.keyboard.f": "swapHands",
}
MOUSE_BUTTON_MAPPING = {0: "attack", 1: "use", 2: "pickItem"}
CAMERA_SCALER = 360.0 / 2400.0  # degrees per raw mouse unit


class ContractorDataError(ValueError):
    """A contractor file cannot be used; the message says which file and why."""


@dataclass
class JsonlSteps:
    steps: list[dict]
    num_lines: int  # non-empty lines in the file
    bad_line: int | None = None  # 0-based index of the first unparseable line, if any
    bad_reason: str = ""

    @property
    def num_dropped(self) -> int:
        return self.num_lines - len(self.steps)


def read_jsonl(path: str | Path) -> JsonlSteps:
    """Parse a contractor `.jsonl`, keeping every step before the first unparseable line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ContractorDataError(f"{path}: cannot read ({e})") from None
    lines = [ln for ln in raw.split(b"\n") if ln.strip()]
    steps: list[dict] = []
    for i, line in enumerate(lines):
        try:
            step = json.loads(line)
            if not isinstance(step, dict):
                raise ValueError(f"line holds a {type(step).__name__}, not an object")
        except (ValueError, UnicodeDecodeError) as e:
            return JsonlSteps(steps, len(lines), bad_line=i, bad_reason=str(e)[:200])
        steps.append(step)
    return JsonlSteps(steps, len(lines))


@dataclass
class ConvertedSteps:
    """Result of converting every jsonl step. Arrays are per *kept* (non-null) step."""

    actions: list[dict]
    kept: np.ndarray  # (K,) int64 indices into the jsonl steps
    gui_open: np.ndarray  # (K,) bool
    mouse_xy: np.ndarray  # (K, 2) float64 GUI cursor position (720p pixels)
    num_null: int = 0
    notes: list[str] = field(default_factory=list)


def _get(step: dict, line: int, *keys: str):
    value = step
    for k in keys:
        if not isinstance(value, dict) or k not in value:
            raise ContractorDataError(f"jsonl line {line}: missing key {'.'.join(keys)}")
        value = value[k]
    return value


def _noop(exact_camera: bool) -> dict:
    action = {key: 0 for key in BUTTON_KEYS}
    action[CAMERA_KEY] = np.zeros(2, dtype=np.float32 if exact_camera else np.int64)
    return action


def convert_steps(steps: list[dict], exact_camera: bool = False) -> ConvertedSteps:
    """Convert contractor steps to MineRL action dicts, dropping null steps (see module docstring)."""
    actions: list[dict] = []
    kept: list[int] = []
    gui: list[bool] = []
    mouse_xy: list[tuple[float, float]] = []
    attack_stuck = False
    last_hotbar = 0
    num_null = 0
    notes: list[str] = []
    for i, step in enumerate(steps):
        new_buttons = _get(step, i, "mouse", "newButtons")
        if i == 0:
            attack_stuck = new_buttons == [0]
        elif attack_stuck and 0 in new_buttons:
            attack_stuck = False
        buttons = _get(step, i, "mouse", "buttons")
        if attack_stuck:
            buttons = [b for b in buttons if b != 0]

        action = _noop(exact_camera)
        is_null = True
        for key in _get(step, i, "keyboard", "keys"):
            if key in KEYBOARD_BUTTON_MAPPING:
                action[KEYBOARD_BUTTON_MAPPING[key]] = 1
                is_null = False
        dx, dy = _get(step, i, "mouse", "dx"), _get(step, i, "mouse", "dy")
        cam = action[CAMERA_KEY]
        cam[0] = dy * CAMERA_SCALER  # float -> int64 truncates toward zero (faithful default)
        cam[1] = dx * CAMERA_SCALER
        if dx != 0 or dy != 0:
            is_null = False
        for b, name in MOUSE_BUTTON_MAPPING.items():
            if b in buttons:
                action[name] = 1
                is_null = False

        if "hotbar" in step:
            hotbar = step["hotbar"]
        else:
            hotbar = last_hotbar
            if not notes:
                notes.append("steps without 'hotbar' keep the previous hotbar")
        if hotbar != last_hotbar:
            action[f"hotbar.{hotbar + 1}"] = 1
        last_hotbar = hotbar

        if is_null:
            num_null += 1
            continue
        actions.append(action)
        kept.append(i)
        gui_open = bool(step.get("isGuiOpen", False))
        gui.append(gui_open)
        if gui_open:
            mouse_xy.append((float(_get(step, i, "mouse", "x")), float(_get(step, i, "mouse", "y"))))
        else:
            mouse_xy.append((0.0, 0.0))
    return ConvertedSteps(
        actions=actions,
        kept=np.asarray(kept, dtype=np.int64),
        gui_open=np.asarray(gui, dtype=bool),
        mouse_xy=np.asarray(mouse_xy, dtype=np.float64).reshape(-1, 2),
        num_null=num_null,
        notes=notes,
    )
