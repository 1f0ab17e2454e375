"""MineCLIP (attn variant) with the original's module tree, so `attn.pth` loads key for key.

The original registers the CLIP towers several times (tied, same tensors): `image_encoder` is
`clip_model.vision_model` and `reward_head.clip_model.vision_model`, and `reward_head.clip_model` is
`clip_model`. The same sharing is built here, so `state_dict()` has the checkpoint's 788 keys, in the
original's order.

Differences from the original that do not change numbers: frames need not be contiguous (the original uses
`.view`), no kornia import per call, `encode_video` insists on 16-frame windows (STEVE-1's only use; other
lengths up to 32 go through `forward_video_features`), and bad shapes fail with a message saying what to pass.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from steve1.mineclip.config import VIDEO_FRAMES, MineClipConfig, get_config
from steve1.mineclip.temporal import TemporalPooling
from steve1.mineclip.text import TextTransformer
from steve1.mineclip.tokenizer import tokenize
from steve1.mineclip.vision import VisionTransformer, normalize_images

# Tied sub-modules: the first name of each group is the copy that is loaded, the others must be equal to it.
TIED_PREFIXES = (
    ("clip_model.vision_model.", "image_encoder.", "reward_head.clip_model.vision_model."),
    ("clip_model.", "reward_head.clip_model."),
)


class CLIP(nn.Module):
    def __init__(self, cfg: MineClipConfig):
        super().__init__()
        self.vision_model = VisionTransformer(cfg)
        self.text_model = TextTransformer(cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


class CLIPScoreHead(nn.Module):
    """Video adapter (Linear, Identity, ReLU, Linear) mixed by sigmoid(video_residual_weight); identity text
    adapter; cosine logits times exp(logit_scale)."""

    def __init__(self, clip_model: CLIP, cfg: MineClipConfig):
        super().__init__()
        d = cfg.embed_dim
        self.clip_model = clip_model
        self.video_residual_weight = nn.Parameter(torch.tensor(4.0))
        self.video_adapter = nn.Sequential(nn.Linear(d, d), nn.Identity(), nn.ReLU(), nn.Linear(d, d))

    def adapt_video(self, video_features: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.video_residual_weight)
        return w * video_features + (1.0 - w) * self.video_adapter(video_features)

    def forward(self, video_features: torch.Tensor, text_features: torch.Tensor):
        video = F.normalize(self.adapt_video(video_features), dim=-1)  # (B, D)
        text = F.normalize(text_features, dim=-1)  # (T, D)
        logits_per_video = self.clip_model.logit_scale.exp() * video @ text.t()  # (B, T)
        return logits_per_video, logits_per_video.t()


class MineCLIP(nn.Module):
    """Image ViT -> per-frame features -> temporal attention pooling (videos); CLIP text tower (prompts)."""

    def __init__(self, config: str | MineClipConfig = "attn"):
        super().__init__()
        self.config = get_config(config)
        clip_model = CLIP(self.config)
        # registration order = the original's state-dict order
        self.image_encoder = clip_model.vision_model
        self.temporal_encoder = TemporalPooling(self.config)
        self.reward_head = CLIPScoreHead(clip_model, self.config)
        self.clip_model = clip_model

    @property
    def dtype(self) -> torch.dtype:
        return self.clip_model.logit_scale.dtype

    @property
    def device(self) -> torch.device:
        return self.clip_model.logit_scale.device

    def _check_frames(self, frames: torch.Tensor) -> None:
        c = self.config
        if frames.dim() < 4 or tuple(frames.shape[-3:]) != (3, c.image_height, c.image_width):
            raise ValueError(
                f"MineCLIP expects RGB frames (..., 3, {c.image_height}, {c.image_width}), values 0..255, "
                f"got {tuple(frames.shape)}; convert (H, W, 3) frames with steve1.mineclip.preprocess_frames"
            )

    def forward_image_features(self, frames: torch.Tensor) -> torch.Tensor:
        """(..., 3, 160, 256) RGB 0..255 (uint8 or float) -> (..., D) per-frame features."""
        self._check_frames(frames)
        lead = frames.shape[:-3]
        x = normalize_images(frames.reshape(-1, *frames.shape[-3:]).to(self.device), self.dtype)
        return self.image_encoder(x).reshape(*lead, -1)

    def forward_video_features(self, image_features: torch.Tensor) -> torch.Tensor:
        """(B, L, D) per-frame features -> (B, D) pooled video feature (no adapter)."""
        return self.temporal_encoder(image_features.to(self.dtype))

    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 16, 3, 160, 256) RGB 0..255 -> (B, D); STEVE-1's goal embedding (no video adapter)."""
        self._check_frames(frames)
        if frames.dim() != 5 or frames.shape[1] != VIDEO_FRAMES:
            raise ValueError(
                f"encode_video expects (B, {VIDEO_FRAMES}, 3, H, W) windows of {VIDEO_FRAMES} frames, got "
                f"{tuple(frames.shape)}; use forward_video_features for other lengths"
            )
        return self.forward_video_features(self.forward_image_features(frames))

    def encode_text(self, token_ids: torch.Tensor) -> torch.Tensor:
        """(B, 77) long token ids (from `tokenize`) -> (B, D), not L2-normalised."""
        return self.clip_model.text_model(token_ids.to(self.device))

    def text_features(self, text: str | list[str] | torch.Tensor) -> torch.Tensor:
        """Strings (tokenised here), (B, 77) long ids, or already computed float features -> (B, D)."""
        if isinstance(text, (str, list, tuple)):
            text = tokenize(list(text) if isinstance(text, tuple) else text)
        if text.is_floating_point():
            return text.to(self.device, self.dtype)
        return self.encode_text(text)

    def forward_reward_head(
        self, video_features: torch.Tensor, text_tokens: str | list[str] | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits_per_video (B, T), logits_per_text (T, B)) after the video adapter (the reward head)."""
        return self.reward_head(video_features.to(self.dtype), self.text_features(text_tokens))
