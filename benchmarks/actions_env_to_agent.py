"""env_to_agent over one training item (640 stored env actions) vs. a naive per-dict loop.

Run: python -m benchmarks.actions_env_to_agent
The naive loop does what the original data loader does per step: stack the 20 buttons of one dict, mu-law
discretise its camera, then resolve the groups and look the joint class up in a dict of tuples.
"""
from __future__ import annotations

import itertools
import timeit

import numpy as np

from steve1.spaces import BUTTON_KEYS
from steve1.vpt.actions import BUTTON_GROUPS, BUTTONS_ALL, env_to_agent

T = 640
_COMBINATION_TO_CLASS = {c: i for i, c in enumerate(itertools.product(*(opts for _, opts in BUTTON_GROUPS)))}


def _naive_one(action: dict) -> tuple[int, int]:
    buttons = np.stack([np.asarray(action.get(k, 0)).reshape(()) for k in BUTTONS_ALL])
    x = np.clip(np.asarray(action["camera"], dtype=np.float64).reshape(2), -10, 10) / 10
    v = np.sign(x) * (np.log(1.0 + 10 * np.abs(x)) / np.log(11.0)) * 10
    bins = np.round((v + 10) / 2).astype(np.int64)
    if buttons[BUTTONS_ALL.index("inventory")] == 1:
        return 8640, 60
    choice = []
    for _, options in BUTTON_GROUPS[:-1]:
        pressed = [o for o in options[1:] if buttons[BUTTONS_ALL.index(o)]]
        if pressed == ["forward", "back"] or pressed == ["left", "right"]:
            pressed = []
        choice.append(pressed[-1] if pressed else "none")
    choice.append("none" if bins[0] == 5 and bins[1] == 5 else "camera")
    return _COMBINATION_TO_CLASS[tuple(choice)], int(bins[0] * 11 + bins[1])


def naive_env_to_agent(actions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    out = np.array([_naive_one(a) for a in actions])
    return out[:, 0], out[:, 1]


def _items(rng: np.random.Generator) -> dict[str, list[dict]]:
    pressed = rng.random((T, len(BUTTON_KEYS))) < 0.08
    degrees = np.round(rng.normal(0, 4, (T, 2)), 2)
    contractor = [  # scalar ints for all 23 buttons, whole-degree int64 camera (2,)
        {**{k: int(p) for k, p in zip(BUTTON_KEYS, row, strict=True)}, "camera": d.astype(np.int64)}
        for row, d in zip(pressed, degrees, strict=True)
    ]
    mixed_agents = [  # the 20 agent buttons as int arrays (1,), float64 camera (1, 2)
        {**{k: np.array([int(row[BUTTON_KEYS.index(k)])]) for k in BUTTONS_ALL}, "camera": d.reshape(1, 2)}
        for row, d in zip(pressed, degrees, strict=True)
    ]
    return {"contractor": contractor, "mixed_agents": mixed_agents}


def main() -> None:
    items = _items(np.random.default_rng(0))
    figures = []
    for name, actions in items.items():
        fast = env_to_agent(actions)
        slow = naive_env_to_agent(actions)
        assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1]), name
        t_fast = min(timeit.repeat(lambda a=actions: env_to_agent(a), number=20, repeat=5)) / 20 * 1e3
        t_slow = min(timeit.repeat(lambda a=actions: naive_env_to_agent(a), number=2, repeat=3)) / 2 * 1e3
        print(f"{name:13s} env_to_agent {t_fast:6.2f} ms   naive per-dict loop {t_slow:7.2f} ms   "
              f"x{t_slow / t_fast:.0f}")
        figures.append(f"{name} {t_fast:.2f} ms vs naive {t_slow:.1f} ms")
    print(f"env_to_agent, {T} stored actions: " + "; ".join(figures))


if __name__ == "__main__":
    main()
