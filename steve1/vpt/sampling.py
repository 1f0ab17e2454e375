"""Action sampling from the policy's log-probs, as VPT's `act()`: Gumbel-max per head, camera first.

`u` (uniform noise) may be injected to reproduce a recorded run exactly; otherwise it is drawn with
`torch.rand` (same stream as the reference's `rand_like`, camera then buttons). A drawn 1.0 becomes 0.999.
"""
from __future__ import annotations

from typing import NamedTuple

import torch


class SampledActions(NamedTuple):
    camera: torch.Tensor  # (...,) long, joint camera class 0..120
    buttons: torch.Tensor  # (...,) long, joint button class 0..8640
    log_prob: torch.Tensor  # (...,) float, logp_camera[camera] + logp_buttons[buttons]


def gumbel_argmax(
    logp: torch.Tensor, u: torch.Tensor | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """argmax(logp - log(-log u)) over the last dim; a sample of softmax(logp)."""
    if u is None:
        u = torch.rand(logp.shape, dtype=logp.dtype, device=logp.device, generator=generator)
    elif u.shape != logp.shape:
        raise ValueError(f"noise u has shape {tuple(u.shape)} but the log-probs have {tuple(logp.shape)}")
    u = torch.where(u == 1.0, torch.full_like(u, 0.999), u)
    return torch.argmax(logp - torch.log(-torch.log(u)), dim=-1)


def pick(logp: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """logp (..., n), action (...) long -> (...) the log-prob of each chosen class."""
    return logp.gather(-1, action.unsqueeze(-1)).squeeze(-1)


def sample_actions(
    logp_camera: torch.Tensor,
    logp_buttons: torch.Tensor,
    deterministic: bool = False,
    u_camera: torch.Tensor | None = None,
    u_buttons: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> SampledActions:
    """Sample (or argmax) one joint camera and button class per row; works on (..., n) log-probs,
    normalised or not (e.g. the classifier-free-guidance combination)."""
    if deterministic:
        camera, buttons = logp_camera.argmax(-1), logp_buttons.argmax(-1)
    else:
        camera = gumbel_argmax(logp_camera, u_camera, generator)  # camera first: RNG order of the reference
        buttons = gumbel_argmax(logp_buttons, u_buttons, generator)
    return SampledActions(camera, buttons, pick(logp_camera, camera) + pick(logp_buttons, buttons))
