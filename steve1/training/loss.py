"""The behavioural-cloning loss of one chunk."""
from __future__ import annotations

import torch


def chunk_loss(logp_buttons: torch.Tensor, logp_camera: torch.Tensor, buttons: torch.Tensor,
               camera: torch.Tensor) -> torch.Tensor:
    """-mean over the batch of sum over the chunk's steps of [log p(buttons_t) + log p(camera_t)].

    logp_buttons (B, t, 8641), logp_camera (B, t, 121) log-probabilities; buttons, camera (B, t) int64.
    Computed in float32; the scale grows with t, as in the original.
    """
    if logp_buttons.shape[:2] != buttons.shape or logp_camera.shape[:2] != camera.shape:
        raise ValueError(
            f"shape mismatch: logp_buttons {tuple(logp_buttons.shape)} vs buttons {tuple(buttons.shape)}, "
            f"logp_camera {tuple(logp_camera.shape)} vs camera {tuple(camera.shape)}"
        )
    lb = logp_buttons.float().gather(-1, buttons.unsqueeze(-1)).squeeze(-1)  # (B, t)
    lc = logp_camera.float().gather(-1, camera.unsqueeze(-1)).squeeze(-1)  # (B, t)
    return -(lb + lc).sum(dim=1).mean()
