"""MineCLIP's text tower: CLIP's causal transformer over exactly 77 tokens, read out at the first EOT."""
from __future__ import annotations

import torch
from torch import nn

from steve1.mineclip.clip_layers import make_blocks, run_blocks
from steve1.mineclip.config import CONTEXT_LENGTH, VOCAB_SIZE, MineClipConfig


class TextTransformer(nn.Module):
    """token_embedding + pos_embed -> causal blocks -> ln_final -> row at argmax(ids) @ projection."""

    def __init__(self, cfg: MineClipConfig):
        super().__init__()
        width = cfg.text_width
        self.token_embedding = nn.Embedding(VOCAB_SIZE, width)
        self.pos_embed = nn.Parameter(0.01 * torch.randn(CONTEXT_LENGTH, width))  # (77, W)
        self.blocks = make_blocks(width, cfg.text_layers, cfg.text_heads)
        self.ln_final = nn.LayerNorm(width)
        self.projection = nn.Parameter(width**-0.5 * torch.randn(width, cfg.embed_dim))

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        """(B, 77) long ids (BOS ... EOT, any padding) -> (B, embed_dim), not L2-normalised."""
        if token_ids.dim() != 2 or token_ids.shape[1] != CONTEXT_LENGTH or token_ids.is_floating_point():
            raise ValueError(
                f"encode_text expects integer token ids of shape (B, {CONTEXT_LENGTH}), got "
                f"{tuple(token_ids.shape)} {token_ids.dtype}; make them with steve1.mineclip.tokenize"
            )
        x = self.token_embedding(token_ids)  # (B, 77, W)
        x = x + self.pos_embed.to(x.dtype)
        x = self.ln_final(run_blocks(self.blocks, x, causal=True))
        eot = x[torch.arange(x.shape[0], device=x.device), token_ids.argmax(dim=-1)]  # (B, W), first EOT
        return eot @ self.projection.to(x.dtype)  # (B, D)
