"""The STEVE-1 agent: observations of B worlds + goals -> MineRL actions, one guided policy step for all.

Per step (for the rows given): frames resized to 128x128 (cv2 INTER_LINEAR, as VPT), one classifier-free-
guided policy step (CNN once, conditional and unconditional streams, (1+s)*cond - s*uncond), Gumbel-max
sampling (camera then buttons, the reference's RNG order), joint classes -> MineRL action dicts.

Each world has its own rows of recurrent memory (conditional row i, unconditional row B+i). Resetting one
world marks its row `first`, which masks its memory at the next step exactly as a fresh state would; the
other worlds keep theirs. Rows can be stepped in any subset (worlds that are idle or restarting are left
out) and with different guidance scales (one policy call per distinct scale).

Differences from the original `MineRLConditionalAgent` (documented): batched over worlds; the sampling RNG
can be a seeded generator; no entropy is computed and no log-prob NaN assertion is made (non-finite
log-probs raise a clear error instead); the original's fp16 autocast is optional (`autocast_dtype`).

Speed options: `autocast_dtype=torch.bfloat16` runs the step under bf16 autocast (GPU inference);
`compile_mode="reduce-overhead"` compiles the guided step (`steve1.vpt.compiled`: a CUDA graph on GPU).
"""
from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from steve1.agent.goals import TEXT_COND_SCALE
from steve1.vpt.actions import agent_to_env
from steve1.vpt.compiled import compiled_guided_step
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.preprocess import resize_pov
from steve1.vpt.sampling import sample_actions
from steve1.vpt.transformer import State


def _stack_povs(obs) -> np.ndarray:
    """list of obs dicts / (H, W, 3) frames, or a (b, H, W, 3) array -> (b, H, W, 3) uint8."""
    if isinstance(obs, np.ndarray):
        frames = obs if obs.ndim == 4 else obs[None]
    else:
        obs = [obs] if isinstance(obs, Mapping) else list(obs)
        try:
            frames = np.stack([o["pov"] if isinstance(o, Mapping) else np.asarray(o) for o in obs])
        except KeyError:
            raise ValueError("observations must hold a 'pov' frame (MineRL layout)") from None
    return frames


class Steve1Agent:
    """STEVE-1 acting in `n_worlds` worlds. `act(obs, goals)` -> one MineRL action dict per world."""

    def __init__(self, policy: VPTPolicy, n_worlds: int = 1, cond_scale: float = TEXT_COND_SCALE,
                 generator: torch.Generator | None = None, deterministic: bool = False,
                 autocast_dtype: torch.dtype | None = None, compile_mode: str | None = None):
        if policy.goal_dim is None:
            raise ValueError("STEVE-1 needs a goal-conditioned policy: VPTPolicy(config, goal_dim=512)")
        if n_worlds < 1:
            raise ValueError(f"n_worlds must be >= 1, got {n_worlds}")
        self.policy = policy.eval()
        self.n_worlds = n_worlds
        self.cond_scale = float(cond_scale)
        self.generator = generator
        self.deterministic = deterministic
        self.autocast_dtype = autocast_dtype
        self._guided_step = policy.guided_step if compile_mode is None else \
            compiled_guided_step(policy, compile_mode)
        self.device = next(policy.parameters()).device
        self.last_classes: tuple[np.ndarray, np.ndarray] | None = None  # (buttons, camera) of the last act
        self.reset()

    @property
    def goal_dim(self) -> int:
        return self.policy.goal_dim

    def reset(self, worlds: Sequence[int] | int | None = None) -> None:
        """Forget the memory of the given worlds (all when None) before their next step."""
        if worlds is None:
            self.state: State = self.policy.initial_state(2 * self.n_worlds)
            self._first = np.zeros(self.n_worlds, bool)
            return
        rows = self._rows(worlds)
        self._first[rows] = True

    def _rows(self, worlds) -> np.ndarray:
        rows = np.arange(self.n_worlds) if worlds is None else np.atleast_1d(np.asarray(worlds, np.int64))
        if rows.ndim != 1 or len(rows) == 0 or rows.min() < 0 or rows.max() >= self.n_worlds:
            raise ValueError(f"world indices must be in [0, {self.n_worlds}), got {rows.tolist()}")
        if len(np.unique(rows)) != len(rows):
            raise ValueError(f"world indices repeat: {rows.tolist()}")
        return rows

    def _goals(self, goals, b: int) -> torch.Tensor:
        d = self.goal_dim
        if goals is None:
            return torch.zeros(b, d, device=self.device)
        g = torch.as_tensor(np.asarray(goals, np.float32) if not isinstance(goals, torch.Tensor) else goals)
        if g.ndim == 1:
            g = g[None]
        if g.ndim != 2 or g.shape[1] != d or g.shape[0] not in (1, b):
            raise ValueError(f"goals have shape {tuple(g.shape)}; expected ({b}, {d}) (one per world) "
                             f"or (1, {d}) / ({d},) for all")
        return g.float().expand(b, d).to(self.device)

    def _precision(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _gather(self, idx: torch.Tensor) -> State:
        return [(None if m is None else m[idx], (k[idx], v[idx])) for m, (k, v) in self.state]

    def _scatter(self, idx: torch.Tensor, sub: State) -> None:
        new = []
        for (m, (k, v)), (sm, (sk, sv)) in zip(self.state, sub, strict=True):
            if m is None and sm is not None:
                m = torch.zeros((k.shape[0], *sm.shape[1:]), dtype=torch.bool, device=sm.device)
            if m is not None:
                m = m.clone()
                m[idx] = sm if sm is not None else False
            k, v = k.clone(), v.clone()
            k[idx], v[idx] = sk, sv
            new.append((m, (k, v)))
        self.state = new

    @torch.no_grad()  # not inference_mode: tensors the policy caches must stay usable by autograd
    def act_classes(self, obs, goals=None, worlds: Sequence[int] | None = None,
                    cond_scale: float | Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Like `act` but returns the joint (button class (b,), camera class (b,)) arrays."""
        rows = self._rows(worlds)
        b = len(rows)
        frames = _stack_povs(obs)
        if frames.shape[0] != b:
            raise ValueError(f"got {frames.shape[0]} observations for {b} worlds")
        img = torch.from_numpy(np.ascontiguousarray(resize_pov(frames))).to(self.device)  # (b, 128, 128, 3)
        goal = self._goals(goals, b)  # (b, D)
        scales = np.full(b, self.cond_scale) if cond_scale is None else \
            np.broadcast_to(np.asarray(cond_scale, np.float64), (b,))
        first = torch.from_numpy(self._first[rows].copy()).to(self.device)  # (b,)
        buttons = np.empty(b, np.int64)
        camera = np.empty(b, np.int64)
        all_rows = b == self.n_worlds and np.array_equal(rows, np.arange(b))
        for s in np.unique(scales):
            pos = np.flatnonzero(scales == s)  # positions in this call
            whole = all_rows and len(pos) == b
            if whole:
                state = self.state
            else:
                r = torch.from_numpy(rows[pos]).to(self.device)
                idx = torch.cat([r, r + self.n_worlds])  # conditional rows, then unconditional rows
                state = self._gather(idx)
            p = torch.from_numpy(pos).to(self.device)
            with self._precision():
                out = self._guided_step(img[p], goal[p], state, float(s), first=first[p])
            if whole:
                self.state = out.state
            else:
                self._scatter(idx, out.state)
            lc, lb = out.logp_camera.float(), out.logp_buttons.float()
            if not bool(torch.isfinite(lc).all() & torch.isfinite(lb).all()):  # one device sync
                raise FloatingPointError("the guided policy produced non-finite log-probs (NaN/inf); with "
                                         "fp16 use --dtype fp32 or bf16")
            if self.generator is not None and self.generator.device != lc.device:
                lc, lb = lc.cpu(), lb.cpu()  # sample where the generator lives
            sampled = sample_actions(lc, lb, deterministic=self.deterministic, generator=self.generator)
            buttons[pos] = sampled.buttons.cpu().numpy()
            camera[pos] = sampled.camera.cpu().numpy()
        self._first[rows] = False
        self.last_classes = (buttons, camera)
        return buttons, camera

    def act(self, obs, goals=None, worlds: Sequence[int] | None = None,
            cond_scale: float | Sequence[float] | None = None) -> list[dict]:
        """One step for the given worlds (default all, in order).

        obs: one MineRL observation dict per world (or their `pov` frames, (b, H, W, 3) uint8 RGB);
        goals: (b, D) one per world, (1, D) for all, or None (zero goal = unconditional);
        cond_scale: one scale, or one per world (default: the agent's).
        Returns b MineRL action dicts (24 keys).
        """
        return agent_to_env(*self.act_classes(obs, goals, worlds, cond_scale))
