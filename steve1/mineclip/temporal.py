"""Temporal pooling `attn.d2.nh8.glusw`: MineCLIP's x-transformers 0.27.1 encoder, re-implemented.

Per-frame features (B, L, D) + learned absolute positions scaled by D**-0.5, then (pre-norm attention without
biases, pre-norm GLU feed-forward with SiLU gate) x depth, a final LayerNorm and the mean over frames.
Module names reproduce the original state-dict keys (`attn.model.attn_layers.layers.{i}.0.0`, `.1.to_q`, ...).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from steve1.mineclip.config import TEMPORAL_MAX_LEN, MineClipConfig


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int):
        super().__init__()
        self.heads = heads
        inner = heads * head_dim
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape  # (B, L, D)
        q, k, v = (f(x).view(b, n, self.heads, -1).transpose(1, 2) for f in (self.to_q, self.to_k, self.to_v))
        out = F.scaled_dot_product_attention(q, k, v)  # (B, h, L, d)
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))


class GLU(nn.Module):
    """proj(x) split in halves (value, gate) -> value * SiLU(gate)."""

    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.silu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int):
        super().__init__()
        inner = dim * mult
        self.net = nn.Sequential(GLU(dim, inner), nn.Identity(), nn.Dropout(0.0), nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AbsolutePositionalEmbedding(nn.Module):
    def __init__(self, dim: int, max_len: int):
        super().__init__()
        self.scale = dim**-0.5
        self.emb = nn.Embedding(max_len, dim)

    def forward(self, length: int, device: torch.device) -> torch.Tensor:
        return self.emb(torch.arange(length, device=device)) * self.scale  # (L, D)


class EncoderLayers(nn.Module):
    def __init__(self, dim: int, cfg: MineClipConfig):
        super().__init__()
        blocks: list[nn.Module] = []
        for _ in range(cfg.temporal_depth):
            blocks.append(Attention(dim, cfg.temporal_heads, cfg.temporal_head_dim))
            blocks.append(FeedForward(dim, cfg.temporal_ff_mult))
        # each layer: [ModuleList([pre-norm]), block]  (x-transformers 0.27.1 layout, residual has no weights)
        self.layers = nn.ModuleList(
            nn.ModuleList([nn.ModuleList([nn.LayerNorm(dim)]), blk]) for blk in blocks
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for norms, block in self.layers:
            x = x + block(norms[0](x))
        return x


class TemporalEncoder(nn.Module):
    """`attn.model`: positions, encoder layers, final norm. (B, L, D) -> (B, L, D)."""

    def __init__(self, cfg: MineClipConfig):
        super().__init__()
        dim = cfg.embed_dim
        self.pos_emb = AbsolutePositionalEmbedding(dim, TEMPORAL_MAX_LEN)
        self.attn_layers = EncoderLayers(dim, cfg)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_emb(x.shape[1], x.device).to(x.dtype)
        return self.norm(self.attn_layers(x))


class _AttnHolder(nn.Module):
    def __init__(self, cfg: MineClipConfig):
        super().__init__()
        self.model = TemporalEncoder(cfg)


class TemporalPooling(nn.Module):
    """(B, L, D) per-frame features, L <= 32 -> (B, D) video feature (mean of the encoder outputs)."""

    def __init__(self, cfg: MineClipConfig):
        super().__init__()
        self.attn = _AttnHolder(cfg)

    def forward(self, frame_features: torch.Tensor) -> torch.Tensor:
        if frame_features.dim() != 3 or not 1 <= frame_features.shape[1] <= TEMPORAL_MAX_LEN:
            raise ValueError(
                f"temporal pooling expects (B, L, D) with 1 <= L <= {TEMPORAL_MAX_LEN}, "
                f"got {tuple(frame_features.shape)}"
            )
        return self.attn.model(frame_features).mean(dim=1)
