"""Policy and value heads of VPT, named as the reference (`pi_head.{camera,buttons}.linear_layer`,
`value_head.linear`, `value_head.normalizer.*`).

The categorical heads divide logits by the temperature (2.0 in every released model) *inside* the head, then
take log_softmax in float32; training and inference both see the tempered distribution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from steve1.vpt.small_batch_linear import SmallBatchLinear

EWMA_EPS = 1e-5  # NormalizeEwma epsilon (clamp of the debiasing term)
MIN_VAR = 1e-2  # NormalizeEwma variance floor


class CategoricalHead(nn.Module):
    """(..., E) latent -> (..., n) temperature-scaled log-probabilities."""

    def __init__(self, hidsize: int, n: int, temperature: float):
        super().__init__()
        self.linear_layer = SmallBatchLinear(hidsize, n)
        self.temperature = float(temperature)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        logits = self.linear_layer(latent) / self.temperature
        return F.log_softmax(logits.float(), dim=-1)


class EwmaNormalizer(nn.Module):
    """Running statistics of the value target (VPT `NormalizeEwma`); only `denormalize` is used here.

    The three statistics are buffers (VPT stores them as frozen parameters); both are in the state dict.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("running_mean", torch.zeros(1))
        self.register_buffer("running_mean_sq", torch.zeros(1))
        self.register_buffer("debiasing_term", torch.tensor(0.0))

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.debiasing_term.clamp(min=EWMA_EPS)
        mean = self.running_mean / d
        var = (self.running_mean_sq / d - mean**2).clamp(min=MIN_VAR)
        return mean, var

    def denormalize(self, v: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return v * torch.sqrt(var) + mean


class ValueHead(nn.Module):
    """(..., E) -> (...) value in normalised space; `denormalize` maps it to returns."""

    def __init__(self, hidsize: int):
        super().__init__()
        self.linear = nn.Linear(hidsize, 1)
        self.normalizer = EwmaNormalizer()

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.linear(latent).float().squeeze(-1)

    def denormalize(self, vpred: torch.Tensor) -> torch.Tensor:
        return self.normalizer.denormalize(vpred)
