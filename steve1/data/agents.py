"""The small agent protocol mixed-agent generation drives, and the agents that implement it.

An agent acts for a batch of worlds ("slots"). `reset(batch_size)` starts fresh state for every slot,
`reset_slots(slots)` for some of them, and `act(obs_batch, slots)` returns one MineRL env action dict per
given observation (`obs_batch[i]` belongs to slot `slots[i]`). Actions use the VPT agent's env format: every
button an int array of shape (1,), `camera` a (1, 2) array of degrees, no ESC/pickItem/swapHands.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from steve1.spaces import BUTTON_KEYS, CAMERA_KEY

AGENT_BUTTON_KEYS = tuple(k for k in BUTTON_KEYS if k not in ("ESC", "pickItem", "swapHands"))  # 20 keys


class Agent(Protocol):
    name: str  # shown in metadata; names containing 'rl_from' count as RL agents for switch probabilities
    in_model: str
    in_weights: str

    def reset(self, batch_size: int) -> None: ...

    def reset_slots(self, slots: Sequence[int]) -> None: ...

    def act(self, obs_batch: Sequence[dict], slots: Sequence[int]) -> list[dict]: ...


class RandomAgent:
    """Presses each button with probability `p_button` and turns the camera by up to `max_camera` degrees."""

    def __init__(self, name: str = "random", seed: int = 0, p_button: float = 0.1, max_camera: float = 10.0):
        self.name, self.in_model, self.in_weights = name, "", f"{name}.random"
        self.rng = np.random.default_rng(seed)
        self.p_button, self.max_camera = p_button, max_camera

    def reset(self, batch_size: int) -> None:
        pass

    def reset_slots(self, slots: Sequence[int]) -> None:
        pass

    def act(self, obs_batch: Sequence[dict], slots: Sequence[int]) -> list[dict]:
        n = len(obs_batch)
        pressed = self.rng.random((n, len(AGENT_BUTTON_KEYS))) < self.p_button  # (n, 20)
        camera = self.rng.uniform(-self.max_camera, self.max_camera, (n, 1, 2))  # (n, 1, 2)
        return [
            {**{k: np.array([int(pressed[i, j])]) for j, k in enumerate(AGENT_BUTTON_KEYS)},
             CAMERA_KEY: camera[i]}
            for i in range(n)
        ]


def make_agent(spec: str, seed: int = 0, device: str = "cpu") -> Agent:
    """Build an agent from a spec: `random[:name]`, or `vpt:<model file>:<weights file>`."""
    kind, _, rest = spec.partition(":")
    if kind == "random":
        return RandomAgent(name=rest or "random", seed=seed)
    if kind == "vpt":
        model, _, weights = rest.partition(":")
        if not model or not weights:
            raise ValueError(f"VPT agent spec must be vpt:<model>:<weights>, got {spec!r}")
        return make_vpt_agent(model, weights, device=device)
    raise ValueError(f"unknown agent spec {spec!r}; use 'random' or 'vpt:<model>:<weights>'")


def make_vpt_agent(in_model: str, in_weights: str, device: str = "cpu") -> Agent:
    """An unconditioned VPT agent (any size) from released `.model` + `.weights` files.

    TODO: wire to `steve1.vpt` (VPTPolicy, load_policy_weights, resize_pov, actions.agent_to_env) once that
    package lands; until then this raises so nobody mistakes another agent for VPT.
    """
    for p in (in_model, in_weights):
        if not Path(p).exists():
            raise FileNotFoundError(f"VPT file {p} not found; run ./download_weights.sh or fix the path")
    try:
        from steve1.vpt import VPTPolicy  # noqa: F401
    except ImportError:
        raise NotImplementedError(
            "VPT agents need steve1.vpt, which is not available in this checkout yet; use --agent1 random"
        ) from None
    raise NotImplementedError("VPT agent adapter for mixed-agent generation is not wired yet")
