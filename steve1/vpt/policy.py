"""The VPT policy (weight-compatible with the released `.weights`) and STEVE-1's goal-conditioned variant.

    img (B,T,128,128,3) uint8 -> ImpalaCNN + linear -> x (B,T,E)  [+ mineclip_embed_linear(goal) for STEVE-1]
      -> recurrent transformer (per-layer KV memory) -> ReLU -> lastlayer -> final_ln -> latent (B,T,E)
      -> pi_head: log-probs camera (B,T,121), buttons (B,T,8641);  value_head: vpred (B,T)

State-dict keys equal the released files: 134 keys (`net.*`, `pi_head.*`, `value_head.*`); with `goal_dim=512`
also `net.mineclip_embed_linear.{weight,bias}` (136 keys, as `steve1.weights`).

Classifier-free guidance (`guided_step`): the conditional and the unconditional (zero-goal) streams each keep
their own memory in one state of 2B rows (rows 0..B-1 conditional, rows B..2B-1 unconditional; for B = 1 this
is the reference's row 0 / row 1). The goal enters after the CNN, so the CNN runs once per frame and its
features feed both streams; the output is (1+s)*logp_cond - s*logp_uncond (not renormalised), as the
reference.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from steve1.vpt.config import IMG_SIZE, N_BUTTON_CLASSES, N_CAMERA_CLASSES, PolicyConfig
from steve1.vpt.heads import CategoricalHead, ValueHead
from steve1.vpt.impala import ImageEncoder
from steve1.vpt.layers import linear_layer
from steve1.vpt.sampling import pick
from steve1.vpt.transformer import RecurrentStack, State


class PolicyOutput(NamedTuple):
    logp_camera: torch.Tensor  # (B, T, 121) temperature-scaled log-softmax
    logp_buttons: torch.Tensor  # (B, T, 8641)
    vpred: torch.Tensor  # (B, T) value in normalised space; policy.value_head.denormalize(vpred) for returns
    state: State


class GuidedOutput(NamedTuple):
    logp_camera: torch.Tensor  # (B, 121) (1+s)*cond - s*uncond, unnormalised
    logp_buttons: torch.Tensor  # (B, 8641)
    state: State  # 2B rows: conditional rows first, then unconditional
    vpred: torch.Tensor  # (2B,) normalised values of both streams (unused by STEVE-1)


class PolicyNet(nn.Module):
    """VPT's `MinecraftPolicy` (module `net`): frames (+ goal) -> latent."""

    def __init__(self, config: PolicyConfig, goal_dim: int | None = None):
        super().__init__()
        hid = config.hidsize
        self.img_process = ImageEncoder(config)
        self.recurrent_layer = RecurrentStack(config)
        self.lastlayer = linear_layer(hid, hid, norm=True, bias=False, relu=True)
        self.final_ln = nn.LayerNorm(hid)
        if goal_dim is not None:
            self.mineclip_embed_linear = nn.Linear(goal_dim, hid)

    def encode_frames(self, img: torch.Tensor) -> torch.Tensor:
        """(..., 128, 128, 3) uint8 -> (..., E)."""
        lead = img.shape[:-3]
        return self.img_process(img.reshape(-1, *img.shape[-3:])).view(*lead, -1)

    def head_latent(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_ln(self.lastlayer(F.relu(x)))


def _check_tensor(name: str, x, shape: tuple, dtypes: tuple, hint: str) -> None:
    """shape entries: int (exact) or None (any)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor {hint}, got {type(x).__name__}")
    ok = x.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, x.shape, strict=False))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} has shape {tuple(x.shape)}; expected {want} {hint}")
    if x.dtype not in dtypes:
        raise TypeError(f"{name} has dtype {x.dtype}; expected one of {[str(d) for d in dtypes]} {hint}")


_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


class VPTPolicy(nn.Module):
    """VPT `MinecraftAgentPolicy`; with `goal_dim` (512) the STEVE-1 goal-conditioned policy."""

    def __init__(self, config: PolicyConfig, goal_dim: int | None = None):
        super().__init__()
        self.config = config
        self.goal_dim = goal_dim
        self.net = PolicyNet(config, goal_dim)
        self.value_head = ValueHead(config.hidsize)
        self.pi_head = nn.ModuleDict({
            "camera": CategoricalHead(config.hidsize, N_CAMERA_CLASSES, config.temperature),
            "buttons": CategoricalHead(config.hidsize, N_BUTTON_CLASSES, config.temperature),
        })

    # ---------------------------------------------------------------- state
    def initial_state(self, batch_size: int) -> State:
        """Per layer (state_mask=None, (K, V) zeros (B, maxlen, hidsize)) on the policy's device and dtype."""
        p = next(self.parameters())
        return self.net.recurrent_layer.initial_state(batch_size, device=p.device, dtype=p.dtype)

    def _check_state(self, state: State, rows: int) -> None:
        cfg = self.config
        if not isinstance(state, (list, tuple)) or len(state) != cfg.n_recurrence_layers:
            raise ValueError(
                f"state must be a list of {cfg.n_recurrence_layers} per-layer entries "
                "(use policy.initial_state(B))"
            )
        mask, (k, _v) = state[0]
        if k.shape != (rows, cfg.maxlen, cfg.hidsize):
            raise ValueError(
                f"state K cache has shape {tuple(k.shape)}; expected ({rows}, {cfg.maxlen}, {cfg.hidsize}): "
                f"the state must have one row per batch row (2B rows for guided_step)"
            )

    # ---------------------------------------------------------------- forward
    def forward(
        self,
        img: torch.Tensor,
        first: torch.Tensor,
        state: State,
        goal: torch.Tensor | None = None,
        honour_every_first: bool = False,
    ) -> PolicyOutput:
        """img uint8 (B, T, 128, 128, 3) RGB; first bool (B, T); goal (B, T, goal_dim) or None (zero goal).

        `first[:, 0]` masks the row's memory (new episode). As the reference, later `first` flags in the call
        are ignored unless `honour_every_first=True`.
        """
        _check_tensor("img", img, (None, None, IMG_SIZE, IMG_SIZE, 3), (torch.uint8,),
                      "(B, T, 128, 128, 3) uint8 RGB; resize frames with steve1.vpt.preprocess.resize_pov")
        B, T = img.shape[:2]
        _check_tensor("first", first, (B, T), (torch.bool, torch.uint8, torch.int64), "(B, T) bool")
        self._check_state(state, B)
        x = self.net.encode_frames(img)  # (B, T, E)
        if self.goal_dim is not None:
            if goal is None:
                x = x + self.net.mineclip_embed_linear.bias
            else:
                _check_tensor("goal", goal, (B, T, self.goal_dim), _FLOATS, f"(B, T, {self.goal_dim}) float")
                x = x + self.net.mineclip_embed_linear(goal.to(x.dtype))
        elif goal is not None:
            raise ValueError("this policy has no goal layer (built with goal_dim=None); pass goal=None")
        x, state = self.net.recurrent_layer(x, first.bool(), state, honour_every_first)
        latent = self.net.head_latent(x)  # (B, T, E)
        return PolicyOutput(
            self.pi_head["camera"](latent), self.pi_head["buttons"](latent), self.value_head(latent), state
        )

    @torch.no_grad()
    def guided_step(
        self,
        img: torch.Tensor,
        goal: torch.Tensor,
        state: State,
        cond_scale: float,
        first: torch.Tensor | None = None,
    ) -> GuidedOutput:
        """One classifier-free-guided step for B worlds.

        img uint8 (B, 128, 128, 3); goal (B, goal_dim); state for 2B rows (initial_state(2 * B));
        first (B,) bool or None (the reference agent always passes False).
        Returns (1+s)*cond - s*uncond log-probs.
        """
        if self.goal_dim is None:
            raise ValueError("guided_step needs a goal-conditioned policy (VPTPolicy(config, goal_dim=512))")
        _check_tensor("img", img, (None, IMG_SIZE, IMG_SIZE, 3), (torch.uint8,),
                      "(B, 128, 128, 3) uint8 RGB, one frame per world")
        B = img.shape[0]
        _check_tensor("goal", goal, (B, self.goal_dim), _FLOATS, f"(B, {self.goal_dim}) float, one per world")
        self._check_state(state, 2 * B)
        if first is None:
            first = torch.zeros(B, dtype=torch.bool, device=img.device)
        _check_tensor("first", first, (B,), (torch.bool,), "(B,) bool")
        x = self.net.encode_frames(img)  # (B, E): the CNN runs once for both streams
        goal_layer = self.net.mineclip_embed_linear
        # (2B, E): conditional rows, then unconditional rows (zero goal: the layer's output is its bias)
        x2 = torch.cat([x + goal_layer(goal.to(x.dtype)), x + goal_layer.bias])
        first2 = first.repeat(2)[:, None]  # (2B, 1)
        h, state = self.net.recurrent_layer(x2[:, None], first2, state)
        latent = self.net.head_latent(h[:, 0])  # (2B, E)
        s = float(cond_scale)
        cam = self.pi_head["camera"](latent)  # (2B, 121)
        btn = self.pi_head["buttons"](latent)  # (2B, 8641)
        return GuidedOutput(
            (1 + s) * cam[:B] - s * cam[B:], (1 + s) * btn[:B] - s * btn[B:], state, self.value_head(latent)
        )


def detach_state(state: State) -> State:
    """Cut the graph between training chunks (truncated BPTT); masks are bool and need no detaching."""
    return [(mask, (k.detach(), v.detach())) for mask, (k, v) in state]


def action_log_prob(out: PolicyOutput, camera: torch.Tensor, buttons: torch.Tensor) -> torch.Tensor:
    """(B, T) log-prob of the given joint classes: logp_camera[camera] + logp_buttons[buttons]."""
    for name, a, n in (("camera", camera, N_CAMERA_CLASSES), ("buttons", buttons, N_BUTTON_CLASSES)):
        if a.shape != out.logp_camera.shape[:-1]:
            want = tuple(out.logp_camera.shape[:-1])
            raise ValueError(f"{name} targets have shape {tuple(a.shape)}; expected {want}")
        if a.dtype != torch.long:
            raise TypeError(f"{name} targets must be int64 class indices, got {a.dtype}")
        if a.numel() and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"{name} targets must lie in [0, {n}), got [{int(a.min())}, {int(a.max())}]")
    return pick(out.logp_camera, camera) + pick(out.logp_buttons, buttons)


def behaviour_cloning_loss(out: PolicyOutput, camera: torch.Tensor, buttons: torch.Tensor) -> torch.Tensor:
    """STEVE-1's loss: minus the mean over sequences of the action log-prob summed over T."""
    return -action_log_prob(out, camera, buttons).sum(dim=1).mean()


def state_dict_numel(module: nn.Module) -> int:
    """Elements in the state dict (parameters + the 3 value-normaliser statistics)."""
    return sum(t.numel() for t in module.state_dict().values())
