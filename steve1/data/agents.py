"""The small agent protocol mixed-agent generation drives, and the agents that implement it.

An agent acts for a batch of worlds ("slots"). `reset(batch_size)` starts fresh state for every slot,
`reset_slots(slots)` for some of them (a new episode), `restart_slots(slots)` after an interruption of the
episode (a spin: fresh state, but an agent with a task in hand keeps it), and `act(obs_batch, slots)`
returns one MineRL env action dict per given observation (`obs_batch[i]` belongs to slot `slots[i]`).
Actions use the VPT agent's env format: every button an int array of shape (1,), `camera` a (1, 2) array
of degrees, no ESC/pickItem/swapHands.
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

    def restart_slots(self, slots: Sequence[int]) -> None: ...

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

    def restart_slots(self, slots: Sequence[int]) -> None:
        self.reset_slots(slots)

    def act(self, obs_batch: Sequence[dict], slots: Sequence[int]) -> list[dict]:
        n = len(obs_batch)
        pressed = self.rng.random((n, len(AGENT_BUTTON_KEYS))) < self.p_button  # (n, 20)
        camera = self.rng.uniform(-self.max_camera, self.max_camera, (n, 1, 2))  # (n, 1, 2)
        return [
            {**{k: np.array([int(pressed[i, j])]) for j, k in enumerate(AGENT_BUTTON_KEYS)},
             CAMERA_KEY: camera[i]}
            for i in range(n)
        ]


# Skill mixes: `skills:` switches at random times, `skills_to_goal:` only once the acting skill has reached
# its goal (or its time limit).
SKILL_MIX_KINDS = ("skills", "skills_to_goal")
SKILLS_MODULE = "steve1.data.skills"  # scripted skills: SKILLS, make_skill_agent, SkillMix, SKILL_START_ITEMS


def skills_module():
    """steve1.data.skills, imported on first use (a clear error when it is not there)."""
    import importlib

    try:
        return importlib.import_module(SKILLS_MODULE)
    except ModuleNotFoundError as err:
        if err.name != SKILLS_MODULE:
            raise
        raise ImportError(f"scripted skills need {SKILLS_MODULE}, which this install does not have") from None


def skill_names(spec: str) -> list[str]:
    """The scripted skills an agent spec names (`skill:<name>`, `skills:<a>+<b>`); [] for other agents."""
    kind, _, rest = spec.partition(":")
    if kind == "skill":
        return [rest]
    if kind in SKILL_MIX_KINDS:
        return rest.split("+")
    return []


def make_agent(spec: str, seed: int = 0, device: str = "cpu") -> Agent:
    """Build an agent from a spec: `random[:name]`, `vpt:<model file>:<weights file>`, a scripted skill
    `skill:<name>`, or a mix of skills that switches between them at random times `skills:<a>+<b>+...`
    (`skills_to_goal:<a>+<b>+...`: each skill keeps acting until it has reached its goal)."""
    kind, _, rest = spec.partition(":")
    if kind == "random":
        return RandomAgent(name=rest or "random", seed=seed)
    if kind == "vpt":
        model, _, weights = rest.partition(":")
        if not model or not weights:
            raise ValueError(f"VPT agent spec must be vpt:<model>:<weights>, got {spec!r}")
        return make_vpt_agent(model, weights, device=device)
    if kind == "skill" or kind in SKILL_MIX_KINDS:
        names = skill_names(spec)
        skills = skills_module()
        unknown = [n for n in names if n not in skills.SKILLS]
        if not names or unknown:
            known = ", ".join(skills.SKILLS)
            raise ValueError(f"unknown skill(s) {unknown or names} in {spec!r}; known: {known}")
        if kind == "skill":
            return skills.make_skill_agent(names[0], seed)
        return skills.SkillMix(names, seed, to_goal=kind == "skills_to_goal")
    raise ValueError(f"unknown agent spec {spec!r}; use 'random', 'vpt:<model>:<weights>', 'skill:<name>', "
                     f"'skills:<a>+<b>' or 'skills_to_goal:<a>+<b>'")


def acting_name(agent: Agent, slot: int) -> str:
    """What acts for `slot` now: the current skill of a skill mix, else the agent's name."""
    current = getattr(agent, "current_skill", None)
    return current(slot) if current is not None else agent.name


def make_vpt_agent(in_model: str, in_weights: str, device: str = "cpu", name: str | None = None) -> Agent:
    """An unconditioned VPT agent (any size: 1x/2x/3x `.model`, or 'tiny') from released `.weights`."""
    for p in (in_model, in_weights):
        if p != "tiny" and not Path(p).exists():
            raise FileNotFoundError(f"VPT file {p} not found; run ./download_weights.sh or fix the path")
    return VPTAgent(in_model, in_weights, device=device, name=name)


def vpt_agent_name(in_weights: str) -> str:
    """`rl-from-foundation-2x.weights` -> `rl_from_foundation_2x` (the original's agent names)."""
    return Path(in_weights).name.split(".")[0].replace("-", "_")


class VPTAgent:
    """VPT policy acting for a batch of worlds, sampling stochastically like VPT's `MineRLAgent`.

    Per slot the recurrent memory is reset exactly (cache rows zeroed and marked empty, as a fresh
    `initial_state`). Actions are returned in the original agent's env format ((1,) arrays, camera (1, 2)).
    """

    def __init__(self, in_model: str, in_weights: str, device: str = "cpu", name: str | None = None,
                 deterministic: bool = False):
        import torch

        from steve1.vpt.config import policy_config
        from steve1.vpt.policy import VPTPolicy
        from steve1.vpt.weights import load_policy_weights

        self.name = name or vpt_agent_name(in_weights)
        self.in_model, self.in_weights = str(in_model), str(in_weights)
        self.device = torch.device(device)
        self.policy = VPTPolicy(policy_config(in_model)).to(self.device).eval()
        load_policy_weights(self.policy, in_weights)
        self.deterministic = deterministic
        self.state = None

    def reset(self, batch_size: int) -> None:
        self.state = self.policy.initial_state(batch_size)

    def reset_slots(self, slots: Sequence[int]) -> None:
        if self.state is None or not len(slots):
            return
        rows = list(slots)
        new = []
        for mask, (k, v) in self.state:
            k, v = k.clone(), v.clone()
            k[rows] = 0
            v[rows] = 0
            if mask is not None:
                mask = mask.clone()
                mask[rows] = False
            new.append((mask, (k, v)))
        self.state = new

    def restart_slots(self, slots: Sequence[int]) -> None:
        self.reset_slots(slots)  # a VPT agent has no task beyond its memory

    def _rows(self, rows: list[int]):
        return [(None if m is None else m[rows], (k[rows], v[rows])) for m, (k, v) in self.state]

    def _put_rows(self, rows: list[int], sub) -> None:
        new = []
        for (m, (k, v)), (sm, (sk, sv)) in zip(self.state, sub, strict=True):
            k, v = k.clone(), v.clone()
            k[rows], v[rows] = sk, sv
            if m is None:
                m = torch_zeros_like_mask(sm, k.shape[0])
            else:
                m = m.clone()
            m[rows] = sm
            new.append((m, (k, v)))
        self.state = new

    def act(self, obs_batch: Sequence[dict], slots: Sequence[int]) -> list[dict]:
        import torch

        from steve1.vpt.actions import agent_to_env_arrays
        from steve1.vpt.preprocess import resize_pov
        from steve1.vpt.sampling import sample_actions

        if self.state is None:
            raise RuntimeError("call reset(batch_size) before act()")
        rows = list(slots)
        n_all = self.state[0][1][0].shape[0]
        img = resize_pov(np.stack([np.asarray(o["pov"]) for o in obs_batch]))  # (n, 128, 128, 3)
        img_t = torch.from_numpy(img)[:, None].to(self.device)  # (n, 1, 128, 128, 3)
        first = torch.zeros(len(rows), 1, dtype=torch.bool, device=self.device)
        whole = rows == list(range(n_all))
        with torch.inference_mode():
            out = self.policy(img_t, first, self.state if whole else self._rows(rows))
            sampled = sample_actions(out.logp_camera[:, 0], out.logp_buttons[:, 0], self.deterministic)
        if whole:
            self.state = out.state
        else:
            self._put_rows(rows, out.state)
        arrays = agent_to_env_arrays(sampled.buttons.cpu().numpy(), sampled.camera.cpu().numpy())
        return [
            {**{k: np.array([int(arrays[k][i])]) for k in AGENT_BUTTON_KEYS},
             CAMERA_KEY: np.asarray(arrays[CAMERA_KEY][i], dtype=np.float64).reshape(1, 2)}
            for i in range(len(rows))
        ]


def torch_zeros_like_mask(sub_mask, batch: int):
    """An all-False state mask for `batch` rows shaped like `sub_mask` (B', 1, maxlen)."""
    import torch

    return torch.zeros((batch, *sub_mask.shape[1:]), dtype=sub_mask.dtype, device=sub_mask.device)
