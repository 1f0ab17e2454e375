"""The one interface every world speaks: a Gymnasium env with MineRL 1.0 shaped data.

Observation (`observation_space`): `pov` (H, W, 3) uint8 RGB (MineRL: 360x640), `inventory` {MineRL item
name: count} over the fixed list INVENTORY_ITEMS, `location_stats` {xpos, ypos, zpos, pitch, yaw} (degrees;
positive pitch looks down, yaw grows turning right), `life_stats` {life}. The scalars are plain Python
ints and floats (as everywhere in steve1: they go into JSON as they are), which the `ScalarBox` spaces
contain. Action
(`action_space`): the 24-key MineRL dict (steve1.spaces), buttons Discrete(2), camera Box(-180, 180, (2,)).
`info` carries fault and restart reports.
"""
from __future__ import annotations

import abc

import gymnasium
import numpy as np
from gymnasium import spaces

from steve1.envs.items import MINETEST_TO_MINERL, TRACKED_ITEMS
from steve1.spaces import BUTTON_KEYS, CAMERA_KEY, CAMERA_LIMIT_DEGREES, POV_HEIGHT, POV_WIDTH

StepResult = tuple[dict, float, bool, bool, dict]  # obs, reward, terminated, truncated, info

INVENTORY_ITEMS = tuple(sorted(set(MINETEST_TO_MINERL.values()) | set(TRACKED_ITEMS)))  # obs["inventory"]
MAX_ITEM_COUNT = 2**31 - 1
MAP_LIMIT = 31000.0  # Minetest's world edge (blocks); Minecraft's is larger, but no episode walks that far
MAX_LIFE = 20.0  # Minecraft's and Minetest Game's full health
LOCATION_KEYS = ("xpos", "ypos", "zpos", "pitch", "yaw")


def action_space() -> spaces.Dict:
    """MineRL 1.0 HumanSurvival's action space: 23 buttons Discrete(2) and camera (pitch, yaw) degrees."""
    camera = spaces.Box(-CAMERA_LIMIT_DEGREES, CAMERA_LIMIT_DEGREES, (2,), np.float32)
    return spaces.Dict({**{key: spaces.Discrete(2) for key in BUTTON_KEYS}, CAMERA_KEY: camera})


class ScalarBox(spaces.Box):
    """A Box of shape () that also contains plain Python ints and floats, as they are (gymnasium's Box
    contains them too, but warns "Casting input x to numpy array" for each)."""

    def __init__(self, low: float, high: float, dtype=np.float64):
        super().__init__(low, high, (), dtype)

    def contains(self, x) -> bool:
        if isinstance(x, (bool, np.bool_)):
            return False  # a flag is not a count or a coordinate
        if isinstance(x, (int, float, np.generic)):
            x = np.asarray(x)  # (int -> int64, float -> float64: a float is not an item count)
        elif not isinstance(x, np.ndarray):
            return False  # (gymnasium would cast a string such as "20")
        return super().contains(x)


def _scalar(low: float, high: float, dtype=np.float64) -> spaces.Box:
    return ScalarBox(low, high, dtype)


def observation_space(height: int = POV_HEIGHT, width: int = POV_WIDTH) -> spaces.Dict:
    """The observation space of a world rendering (height, width) frames."""
    return spaces.Dict({
        "pov": spaces.Box(0, 255, (height, width, 3), np.uint8),
        "inventory": spaces.Dict({name: _scalar(0, MAX_ITEM_COUNT, np.int64) for name in INVENTORY_ITEMS}),
        "location_stats": spaces.Dict({
            "xpos": _scalar(-MAP_LIMIT, MAP_LIMIT), "ypos": _scalar(-MAP_LIMIT, MAP_LIMIT),
            "zpos": _scalar(-MAP_LIMIT, MAP_LIMIT), "pitch": _scalar(-90.0, 90.0),
            "yaw": _scalar(-180.0, 180.0)}),
        "life_stats": spaces.Dict({"life": _scalar(0.0, MAX_LIFE)}),
    })


def fixed_inventory(counts: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """{MineRL name: count} -> (counts over exactly INVENTORY_ITEMS, the other items held)."""
    inventory = {name: int(counts.get(name, 0)) for name in INVENTORY_ITEMS}
    other = {name: int(n) for name, n in counts.items() if name not in inventory and n > 0}
    return inventory, other


class World(gymnasium.Env, abc.ABC):
    """A world an agent acts in; use as a context manager so that it is always closed."""

    name = "world"
    metadata = {"render_modes": []}
    action_space = action_space()
    observation_space = observation_space()

    @abc.abstractmethod
    def reset(self, seed: int | None = None, options: dict | None = None,
              fresh_world: bool | None = None) -> tuple[dict, dict]:
        """Start an episode in a fresh world. `seed` picks it (same seed, same terrain and spawn; None: a
        random one unless the world was made with a seed). fresh_world=False (also as
        options={"fresh_world": False}) re-spawns in the running world instead, where the world can (faster;
        the world's changes stay). Subclasses call super().reset(seed=seed) first (seeds `np_random`)."""
        super().reset(seed=seed)

    @abc.abstractmethod
    def step(self, action: dict) -> StepResult:
        """Apply one MineRL action for one tick (1/20 s of game time)."""

    @abc.abstractmethod
    def close(self) -> None:
        """End every process the world started; safe to call twice."""

    # Split stepping so that steve1.envs.scheduler can send to every world before waiting once for all.
    def step_send(self, action: dict) -> None:
        self._pending_action = action

    def step_wait(self) -> StepResult:
        return self.step(self._pending_action)

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_observation(pov: np.ndarray, inventory: dict, xyz, pitch: float, yaw: float, life: float) -> dict:
    """An observation dict in MineRL's layout."""
    return {
        "pov": pov,
        "inventory": inventory,
        "location_stats": {"xpos": float(xyz[0]), "ypos": float(xyz[1]), "zpos": float(xyz[2]),
                           "pitch": float(pitch), "yaw": float(yaw)},
        "life_stats": {"life": float(life)},
    }
