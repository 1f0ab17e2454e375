"""The prior's training loss: beta * KL(q(z | v, y) || N(0, I)) + MSE(decoded, visual)."""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from steve1.prior.model import TranslatorVAE

KLReduction = Literal["sum", "batchmean"]


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor, reduction: KLReduction = "sum") -> torch.Tensor:
    """KL to N(0, I) of (B, L) Gaussians.

    "sum" (the original's, default): summed over batch and latent dims, so its weight against the
    per-element MSE grows with the batch size. "batchmean": summed over latent dims,
    averaged over the batch (the usual per-sample ELBO term; independent of batch size).
    """
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (B, L)
    if reduction == "sum":
        return kl.sum()
    if reduction == "batchmean":
        return kl.sum(dim=-1).mean()
    raise ValueError(f"kl reduction must be 'sum' or 'batchmean', got {reduction!r}")


def prior_loss(model: TranslatorVAE, text: torch.Tensor, visual: torch.Tensor, beta: float = 1.0,
               kl_reduction: KLReduction = "sum", eps: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """One step's loss terms on (B, D) text and visual embeddings: {'loss', 'kl_loss', 'recon_loss'}."""
    mu, logvar = model.posterior(visual, text)
    z = model.reparameterize(mu, logvar, eps=eps, generator=generator)
    pred = model.decode(z, text)
    kl = kl_divergence(mu, logvar, kl_reduction)
    recon = F.mse_loss(pred, visual)
    return {"loss": beta * kl + recon, "kl_loss": kl, "recon_loss": recon}
