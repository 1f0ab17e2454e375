"""VPT's IMPALA CNN: 128x128x3 uint8-scaled frames -> 256 features per frame (plus the 256 -> hidsize linear).

Module names follow VPT (`stacks.{i}.firstconv`, `stacks.{i}.n`, `stacks.{i}.blocks.{j}.conv{0,1}`, `dense`).
Quirks kept: stack 0's first conv has a bias and no norm, every other conv
has a GroupNorm(1, C) pre-norm and no bias; the 16x16 map is flattened in (C, H, W) order.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from steve1.vpt.config import PolicyConfig
from steve1.vpt.layers import conv_layer, linear_layer

IMPALA_OUT = 256  # features per frame after the dense layer
N_BLOCKS = 2  # residual blocks per stack


class ResidualConvBlock(nn.Module):
    """x + conv1(conv0(x)), each conv = GroupNorm -> conv3x3 -> ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv0 = conv_layer(channels, channels, norm=True)
        self.conv1 = conv_layer(channels, channels, norm=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(self.conv0(x))


class DownStack(nn.Module):
    """firstconv -> maxpool(3, stride 2, pad 1) -> GroupNorm(1, C) -> residual blocks; halves H and W."""

    def __init__(self, c_in: int, c_out: int, first_norm: bool):
        super().__init__()
        self.firstconv = conv_layer(c_in, c_out, norm=first_norm)
        self.n = nn.GroupNorm(1, c_out)
        self.blocks = nn.ModuleList(ResidualConvBlock(c_out) for _ in range(N_BLOCKS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.firstconv(x), kernel_size=3, stride=2, padding=1)
        x = self.n(x)
        for block in self.blocks:
            x = block(x)
        return x


class ImpalaCNN(nn.Module):
    """(N, C, 128, 128) float -> (N, 256); C = config.img_shape[2] (3 for the policy's RGB frames).

    first_conv_norm: give stack 0's first conv a GroupNorm pre-norm and no bias, like every other conv. The
    IDM sets it (its CNN reads the output of a 3D conv, 128 channels); the policy does not.
    """

    def __init__(self, config: PolicyConfig, first_conv_norm: bool = False):
        super().__init__()
        chans = config.cnn_channels
        c_in = [config.img_shape[2], *chans[:-1]]
        self.stacks = nn.ModuleList(
            DownStack(ci, co, first_norm=first_conv_norm or i > 0)
            for i, (ci, co) in enumerate(zip(c_in, chans, strict=True))
        )
        side = config.img_shape[0] // 2 ** len(chans)
        self.dense = linear_layer(chans[-1] * side * side, IMPALA_OUT, norm=True, bias=False, relu=True)
        # Frames arrive HWC, so the convs run channels-last: same numbers, faster with oneDNN / cuDNN.
        self.stacks.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        for stack in self.stacks:
            x = stack(x)
        return self.dense(x.contiguous().flatten(1))  # (N, C*H*W) in (C, H, W) order


class ImageEncoder(nn.Module):
    """uint8 frames (N, 128, 128, 3) -> (N, hidsize) non-negative features (VPT's `img_process`)."""

    def __init__(self, config: PolicyConfig):
        super().__init__()
        self.cnn = ImpalaCNN(config)
        self.linear = linear_layer(IMPALA_OUT, config.hidsize, norm=True, bias=False, relu=True)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        dtype = self.linear.layer.weight.dtype
        x = (img.permute(0, 3, 1, 2).float() / 255.0).to(dtype)  # (N, 3, 128, 128)
        return self.linear(self.cnn(x))
