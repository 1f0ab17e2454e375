"""The building block VPT uses everywhere: optional pre-norm -> linear/conv -> optional ReLU.

Module attribute names (`norm`, `layer`) are those of VPT's `FanInInitReLULayer`, so state-dict keys match
the released weights (`...firstconv.norm.weight`, `...firstconv.layer.weight`). The norm acts on the *input*.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from steve1.vpt.small_batch_linear import SmallBatchLinear


class PreNormLayer(nn.Module):
    """y = relu?(layer(norm?(x)))."""

    def __init__(self, layer: nn.Module, norm: nn.Module | None = None, relu: bool = True):
        super().__init__()
        if norm is not None:
            self.norm = norm
        self.layer = layer
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if "norm" in self._modules:
            x = self.norm(x)
        x = self.layer(x)
        return F.relu(x) if self.relu else x


def linear_layer(n_in: int, n_out: int, *, norm: bool, bias: bool, relu: bool) -> PreNormLayer:
    """LayerNorm(n_in)? -> Linear(n_in, n_out) -> ReLU?"""
    return PreNormLayer(SmallBatchLinear(n_in, n_out, bias=bias), nn.LayerNorm(n_in) if norm else None, relu)


def conv_layer(c_in: int, c_out: int, *, norm: bool) -> PreNormLayer:
    """GroupNorm(1, c_in)? -> Conv3x3(pad 1) -> ReLU; the conv has a bias only when there is no norm."""
    conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=not norm)
    return PreNormLayer(conv, nn.GroupNorm(1, c_in) if norm else None, relu=True)
