"""MineCLIP's image tower: a CLIP ViT-B/16 on 160x256 frames with its stored (161, width) position table."""
from __future__ import annotations

import torch
from torch import nn

from steve1.mineclip.clip_layers import make_blocks, run_blocks
from steve1.mineclip.config import MC_IMAGE_MEAN, MC_IMAGE_STD, PATCH_SIZE, MineClipConfig


def normalize_images(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(..., 3, H, W) RGB 0..255 (uint8 or float) -> (x / 255 - mean) / std, as MineCLIP's preprocessing."""
    mean = torch.tensor(MC_IMAGE_MEAN, device=images.device, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(MC_IMAGE_STD, device=images.device, dtype=torch.float32).view(3, 1, 1)
    x = images.to(torch.float32, copy=True)  # same operation order as the original, done in place
    return x.div_(255.0).sub_(mean).div_(std).to(dtype)


class VisionTransformer(nn.Module):
    """Patchify (no bias) -> [cls; patches] + pos_embed -> ln_pre -> blocks -> ln_post(cls) @ projection."""

    def __init__(self, cfg: MineClipConfig):
        super().__init__()
        width = cfg.vision_width
        self.grid = (cfg.image_height // PATCH_SIZE, cfg.image_width // PATCH_SIZE)  # (10, 16)
        scale = width**-0.5
        # registration order = the original's state-dict order
        self.conv1 = nn.Conv2d(3, width, kernel_size=PATCH_SIZE, stride=PATCH_SIZE, bias=False)
        self.cls_token = nn.Parameter(scale * torch.randn(width))
        self.pos_embed = nn.Parameter(scale * torch.randn(cfg.num_patches + 1, width))  # (161, W)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = make_blocks(width, cfg.vision_layers, cfg.vision_heads)
        self.ln_post = nn.LayerNorm(width)
        self.projection = nn.Parameter(scale * torch.randn(width, cfg.embed_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised images -> (N, embed_dim) features (not L2-normalised)."""
        if tuple(x.shape[-2:]) != (self.grid[0] * PATCH_SIZE, self.grid[1] * PATCH_SIZE):
            raise ValueError(
                f"image tower expects (N, 3, {self.grid[0] * PATCH_SIZE}, {self.grid[1] * PATCH_SIZE}), "
                f"got {tuple(x.shape)}; resize frames with steve1.mineclip.preprocess_frames"
            )
        x = self.conv1(x).flatten(2).transpose(1, 2)  # (N, 160, W), row-major patches
        cls = self.cls_token.to(x.dtype).expand(x.shape[0], 1, -1)  # (N, 1, W)
        x = torch.cat([cls, x], dim=1) + self.pos_embed.to(x.dtype)  # (N, 161, W)
        x = run_blocks(self.blocks, self.ln_pre(x))
        return self.ln_post(x[:, 0]) @ self.projection.to(x.dtype)  # (N, D)
