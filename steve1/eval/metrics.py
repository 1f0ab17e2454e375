"""Programmatic metrics of an episode (STEVE-1's `ProgrammaticEvaluator`), for one world or a batch of worlds.

Values are running maxima over the step observations ("lower-bound measures"):
- `log`  = Σ inventory counts of item names containing "_log" (oak_log, stripped_birch_log, ...);
- `dirt` = ... names containing "dirt" (dirt, coarse_dirt);
- `seed` = ... names containing "seed" (wheat_seeds, pumpkin_seeds, ...);
- `travel_dist` = max x–z distance between `location_stats` xpos/zpos and the reset observation's.
The reset observation only fixes the start position (as in the original, its inventory is not counted).
Difference from the original: `travel_dist` is reported as 0.0 before the agent moves (the original leaves the
key out until the first positive distance), and nothing is printed on each increase. With
`count_from_start=True` (episodes that start with items given, e.g. 64 dirt for building) the inventory
metrics count what was gained over the reset observation's inventory instead.

`WorldMetrics` adds what the embedded world's skills need beyond those (`WORLD_METRIC_NAMES`):
- `sky_steps`   = steps with pitch <= SKY_PITCH (-60 degrees, looking up; MineRL pitch is negative up);
- `water_steps` = steps in water (Minetest's `info["senses"]["in_water"]`, or the observation's water flag);
- `height_gain` = max over the steps of the y position above the reset observation's.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from steve1.data.skills import SKY_PITCH  # looking at the sky: pitch <= this (degrees; negative looks up)
from steve1.data.states import WATER_KEYS  # how worlds that report water in the observation name it

METRIC_NAMES = ("log", "dirt", "seed", "travel_dist")
WORLD_METRIC_NAMES = ("sky_steps", "water_steps", "height_gain")
INVENTORY_FILTERS = {"log": "_log", "dirt": "dirt", "seed": "seed"}  # metric -> substring of item names
_CATEGORIES = tuple(INVENTORY_FILTERS)


def _category_index(item: str) -> tuple[int, ...]:
    """Indices into _CATEGORIES whose filter the item name contains (a name may match several)."""
    return tuple(i for i, c in enumerate(_CATEGORIES) if INVENTORY_FILTERS[c] in item)


class ProgrammaticMetrics:
    """Running maxima of the programmatic metrics for W worlds stepped together.

    `ProgrammaticMetrics(reset_obs)` with one observation dict (W = 1) or a list of W; then `update(obs)`
    after every step with the same structure. `values` is a dict of (W,) float64 arrays; `results()` gives
    one dict per world.
    """

    def __init__(self, reset_obs: Mapping | Sequence[Mapping], count_from_start: bool = False) -> None:
        obs_list = self._as_list(reset_obs, "reset_obs")
        self.n_worlds = len(obs_list)
        self._start_xz = self._positions(obs_list)  # (W, 2)
        self._inventory_max = np.zeros((self.n_worlds, len(_CATEGORIES)))  # (W, 3)
        self._travel_max = np.zeros(self.n_worlds)  # (W,)
        self._item_categories: dict[str, tuple[int, ...]] = {}  # cache: item name -> matching categories
        # what the inventory held at reset, subtracted from every later count (or nothing, as the original)
        self._start_counts = self._inventory_counts(obs_list) if count_from_start else 0.0  # (W, 3)
        self.n_updates = 0

    @staticmethod
    def _as_list(obs, what: str) -> list[Mapping]:
        obs_list = [obs] if isinstance(obs, Mapping) else list(obs)
        if not obs_list:
            raise ValueError(f"{what} is empty: pass one MineRL observation dict or a list of them")
        for i, o in enumerate(obs_list):
            if not isinstance(o, Mapping):
                raise TypeError(f"{what}[{i}] is a {type(o).__name__}, expected a MineRL observation dict")
        return obs_list

    @staticmethod
    def _positions(obs_list: list[Mapping]) -> np.ndarray:
        xz = np.empty((len(obs_list), 2))
        for i, o in enumerate(obs_list):
            loc = o.get("location_stats")
            if not isinstance(loc, Mapping) or "xpos" not in loc or "zpos" not in loc:
                raise KeyError(f"observation {i} has no location_stats xpos/zpos (got "
                               f"{sorted(loc) if isinstance(loc, Mapping) else loc!r}); steve1 worlds must "
                               f"report the MineRL observation layout (steve1.spaces)")
            xz[i] = float(np.asarray(loc["xpos"])), float(np.asarray(loc["zpos"]))
        return xz

    def _inventory_counts(self, obs_list: list[Mapping]) -> np.ndarray:
        counts = np.zeros((len(obs_list), len(_CATEGORIES)))  # (W, 3)
        cache = self._item_categories
        for w, o in enumerate(obs_list):
            inventory = o.get("inventory")
            if not isinstance(inventory, Mapping):
                raise KeyError(f"observation {w} has no 'inventory' dict (item name -> count)")
            row = counts[w]
            for item, n in inventory.items():
                cats = cache.get(item)
                if cats is None:
                    cats = cache[item] = _category_index(item)
                for c in cats:
                    row[c] += float(n)
        return counts

    def update(self, obs: Mapping | Sequence[Mapping],
               active: Sequence[bool] | np.ndarray | None = None) -> None:
        """Fold in the observation(s) after a step. `active` (W,) masks out worlds whose episode has ended."""
        obs_list = self._as_list(obs, "obs")
        if len(obs_list) != self.n_worlds:
            raise ValueError(f"update got {len(obs_list)} observations for {self.n_worlds} worlds")
        mask = np.ones(self.n_worlds, bool) if active is None else np.asarray(active, bool).reshape(-1)
        if mask.shape != (self.n_worlds,):
            raise ValueError(f"active must have shape ({self.n_worlds},), got {mask.shape}")
        counts = self._inventory_counts(obs_list) - self._start_counts  # (W, 3)
        dist = np.linalg.norm(self._positions(obs_list) - self._start_xz, axis=1)  # (W,)
        self._inventory_max[mask] = np.maximum(self._inventory_max[mask], counts[mask])
        self._travel_max[mask] = np.maximum(self._travel_max[mask], dist[mask])
        self.n_updates += 1

    @property
    def values(self) -> dict[str, np.ndarray]:
        """metric name -> (W,) running maxima."""
        out = {c: self._inventory_max[:, i].copy() for i, c in enumerate(_CATEGORIES)}
        out["travel_dist"] = self._travel_max.copy()
        return out

    def results(self) -> list[dict[str, float]]:
        """One {metric: value} dict per world."""
        vals = self.values
        return [{k: float(vals[k][w]) for k in METRIC_NAMES} for w in range(self.n_worlds)]

    def format_results(self, world: int = 0) -> str:
        """The original's printout for one world."""
        r = self.results()[world]
        return "Programmatic Evaluation Results:\n" + "\n".join(f"{k}: {r[k]}" for k in METRIC_NAMES) + "\n"


def _in_water(obs: Mapping, senses: Mapping | None) -> bool:
    if senses and "in_water" in senses:
        return bool(senses["in_water"])
    loc = obs.get("location_stats") or {}
    return any(bool(obs.get(k, loc.get(k, False))) for k in WATER_KEYS)


class WorldMetrics:
    """`WORLD_METRIC_NAMES` of one world's episode: `WorldMetrics(reset_obs)`, then `update(obs, senses)`
    after every step (senses: the world's `info["senses"]`, or None); `results()` -> {name: value}."""

    def __init__(self, reset_obs: Mapping) -> None:
        ProgrammaticMetrics._positions([reset_obs])  # the same clear error for a malformed observation
        self._start_y = float(np.asarray(reset_obs["location_stats"].get("ypos", 0.0)))
        self.sky_steps = 0
        self.water_steps = 0
        self.height_gain = 0.0

    def update(self, obs: Mapping, senses: Mapping | None = None) -> None:
        loc = obs["location_stats"]
        self.sky_steps += float(np.asarray(loc.get("pitch", 0.0))) <= SKY_PITCH
        self.water_steps += _in_water(obs, senses)
        self.height_gain = max(self.height_gain, float(np.asarray(loc.get("ypos", 0.0))) - self._start_y)

    def results(self) -> dict[str, float]:
        return {"sky_steps": float(self.sky_steps), "water_steps": float(self.water_steps),
                "height_gain": float(self.height_gain)}


def episode_metrics(reset_obs: Mapping, step_obs: Sequence[Mapping]) -> dict[str, float]:
    """Metrics of one recorded episode: its reset observation and the observations after each step."""
    m = ProgrammaticMetrics(reset_obs)
    for o in step_obs:
        m.update(o)
    return m.results()[0]
