"""CLIP residual attention blocks shared by the image ViT and the text transformer.

Parameter names follow MineCLIP's `clip.py` (`attn.in_proj_weight`, `mlp.c_fc`, ...) so its state dict loads
unchanged. Attention uses `scaled_dot_product_attention` on batch-first tensors; the numbers equal
`nn.MultiheadAttention`'s (q, k, v rows of `in_proj_weight` in that order, scale 1/sqrt(head_dim)); the
text tower's `is_causal` equals the original's additive -inf mask above the diagonal.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class MultiheadSelfAttention(nn.Module):
    """Batch-first self-attention with `nn.MultiheadAttention`'s parameter layout."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        b, n, width = x.shape  # (B, N, W)
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # (B, N, 3W)
        q, k, v = qkv.view(b, n, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, N, d)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, h, N, d)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, width))


class ResidualAttentionBlock(nn.Module):
    """x + attn(ln_1(x)), then x + c_proj(QuickGELU(c_fc(ln_2(x))))."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = MultiheadSelfAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ("c_fc", nn.Linear(width, 4 * width)),
                    ("gelu", QuickGELU()),
                    ("c_proj", nn.Linear(4 * width, width)),
                ]
            )
        )
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), causal)
        return x + self.mlp(self.ln_2(x))


def make_blocks(width: int, layers: int, heads: int) -> nn.ModuleList:
    """`blocks.{i}` of a CLIP tower."""
    return nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])


def run_blocks(blocks: nn.ModuleList, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
    for block in blocks:
        x = block(x, causal)
    return x
