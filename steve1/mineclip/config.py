"""MineCLIP sizes: the released `attn` variant, the parity fixture's reduced sizes, and a tiny test config.

The original is configured by strings (`arch="vit_base_p16_fz.v2.t2"`, `pool_type="attn.d2.nh8.glusw"`,
`mlp_adapter_spec="v0-2.t0"`, `resolution=[160, 256]`); here the numbers they stand for are spelled out.
"""
from __future__ import annotations

from dataclasses import dataclass

# Per-channel image statistics of MineCLIP (applied to RGB values scaled to 0..1).
MC_IMAGE_MEAN = (0.3331, 0.3245, 0.3051)
MC_IMAGE_STD = (0.2439, 0.2493, 0.2873)

IMAGE_HEIGHT, IMAGE_WIDTH = 160, 256  # MineCLIP input resolution (H, W)
VIDEO_FRAMES = 16  # frames per STEVE-1 goal window (frames t-15 .. t)
CONTEXT_LENGTH = 77  # text tokens, BOS + 75 BPE ids + EOT, padded with 0
VOCAB_SIZE = 49408
TEMPORAL_MAX_LEN = 32  # MineCLIP's VIDEO_SEQ_LEN: rows of the temporal position table
PATCH_SIZE = 16


@dataclass(frozen=True)
class MineClipConfig:
    """Layer sizes of MineCLIP with the attn temporal pooling and `v0-2.t0` adapters."""

    embed_dim: int = 512  # joint video/text space (hidden_dim = image_feature_dim)
    vision_width: int = 768
    vision_layers: int = 12
    vision_head_dim: int = 64  # heads = width / 64 (ViT-B/16: 12)
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    temporal_depth: int = 2  # attn.d2: (attention, GLU feed-forward) x 2
    temporal_heads: int = 8  # attn...nh8
    temporal_head_dim: int = 64
    temporal_ff_mult: int = 4
    video_adapter_layers: int = 2  # v0-2.t0: 2 layers in the video adapter, 0 in the image and text ones
    image_height: int = IMAGE_HEIGHT
    image_width: int = IMAGE_WIDTH

    def __post_init__(self) -> None:
        if self.vision_width % self.vision_head_dim:
            raise ValueError(f"vision_width {self.vision_width} is not a multiple of {self.vision_head_dim}")
        if self.text_width % self.text_heads:
            raise ValueError(f"text_width {self.text_width} is not a multiple of {self.text_heads} heads")
        if self.image_height % PATCH_SIZE or self.image_width % PATCH_SIZE:
            raise ValueError(f"image size must be a multiple of {PATCH_SIZE}")
        if self.video_adapter_layers != 2:
            raise ValueError("only the v0-2.t0 adapter spec (2 video-adapter layers) is implemented")

    @property
    def vision_heads(self) -> int:
        return self.vision_width // self.vision_head_dim

    @property
    def num_patches(self) -> int:
        return (self.image_height // PATCH_SIZE) * (self.image_width // PATCH_SIZE)


ATTN = MineClipConfig()  # STEVE-1's MINECLIP_CONFIG: 158.5 M parameters
# Sizes of tests/fixtures/parity/mineclip_reduced.pt (its config['constructor_overrides'], pool nh2).
REDUCED = MineClipConfig(
    embed_dim=128, vision_width=128, vision_layers=2, text_width=16, text_layers=2, text_heads=2,
    temporal_heads=2,
)
# Small widths for fast tests, benchmarks and smoke runs (no released weights exist for it). Its embeddings
# keep the real 512-d size, so episodes, goal layers and priors built with it have the released shapes.
TINY = MineClipConfig(
    embed_dim=512, vision_width=64, vision_layers=2, vision_head_dim=32, text_width=32, text_layers=2,
    text_heads=2, temporal_heads=2, temporal_head_dim=32,
)

CONFIGS = {"attn": ATTN, "reduced": REDUCED, "tiny": TINY}


def get_config(config: str | MineClipConfig) -> MineClipConfig:
    """A preset by name ('attn', 'reduced', 'tiny') or the given config unchanged."""
    if isinstance(config, MineClipConfig):
        return config
    try:
        return CONFIGS[config]
    except KeyError:
        raise ValueError(f"unknown MineCLIP config {config!r}; choose one of {sorted(CONFIGS)}") from None
