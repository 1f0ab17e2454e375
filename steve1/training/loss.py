"""The behavioural-cloning loss of one chunk."""
from __future__ import annotations

import torch


def step_nll(logp_buttons: torch.Tensor, logp_camera: torch.Tensor, buttons: torch.Tensor,
             camera: torch.Tensor) -> torch.Tensor:
    """(B, t) -[log p(buttons_t) + log p(camera_t)] in float32 (shapes as in `chunk_loss`)."""
    if logp_buttons.shape[:2] != buttons.shape or logp_camera.shape[:2] != camera.shape:
        raise ValueError(
            f"shape mismatch: logp_buttons {tuple(logp_buttons.shape)} vs buttons {tuple(buttons.shape)}, "
            f"logp_camera {tuple(logp_camera.shape)} vs camera {tuple(camera.shape)}"
        )
    lb = logp_buttons.float().gather(-1, buttons.unsqueeze(-1)).squeeze(-1)  # (B, t)
    lc = logp_camera.float().gather(-1, camera.unsqueeze(-1)).squeeze(-1)  # (B, t)
    return -(lb + lc)


def chunk_loss(logp_buttons: torch.Tensor, logp_camera: torch.Tensor, buttons: torch.Tensor,
               camera: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """-mean over the batch of sum over the chunk's steps of [log p(buttons_t) + log p(camera_t)].

    logp_buttons (B, t, 8641), logp_camera (B, t, 121) log-probabilities; buttons, camera (B, t) int64;
    weight (B, t) per-step loss weights (default 1). Computed in float32; the scale grows with t, as in the
    original.
    """
    nll = step_nll(logp_buttons, logp_camera, buttons, camera)  # (B, t)
    if weight is not None:
        nll = nll * weight.float()
    return nll.sum(dim=1).mean()


@torch.no_grad()
def sequence_chunk_losses(model, batch: dict, trunc_t: int, state=None,
                          goal: torch.Tensor | None = None) -> list[torch.Tensor]:
    """`chunk_loss` of every trunc_t-step chunk of whole sequences, the recurrent state carried across
    chunks as in training (no gradients: validation and evaluation).

    batch holds (B, T, ...) img, first, goal, buttons, camera; goal (B, T, D) replaces batch["goal"] when
    given; state defaults to the model's initial state for B rows. Returns T // trunc_t scalar tensors."""
    goal = batch["goal"] if goal is None else goal
    b, t = goal.shape[:2]
    state = model.initial_state(b) if state is None else state
    losses = []
    for start in range(0, t, trunc_t):
        sl = slice(start, start + trunc_t)
        out = model(batch["img"][:, sl], batch["first"][:, sl], state, goal[:, sl])
        losses.append(chunk_loss(out.logp_buttons, out.logp_camera, batch["buttons"][:, sl],
                                 batch["camera"][:, sl]).float())
        state = out.state
    return losses
