"""VPT's inverse dynamics model (`InverseActionPolicy`, weight-compatible with `4x_idm.weights`).

    img (B,T,S,S,3) uint8 RGB -> /255 -> Conv3d over time (kernel (5,1,1), zero-padded window ends) -> ReLU
      -> per-frame ImpalaCNN (pre-normed, bias-free first conv) + linear -> x (B,T,E)
      -> 2 transformer blocks, non-causal attention over the window (no mask, no cache, no position bias)
      -> ReLU -> final_ln -> latent (B,T,E)
      -> pi_head: buttons (B,T,20,2) and camera (B,T,2,11) temperature-4 log-probs

Built from the policy's blocks (`steve1.vpt.impala`, `steve1.vpt.transformer.RecurrentBlock`,
`steve1.vpt.layers`); only the attention (`WindowAttention`) and the 3D-conv stem are the IDM's own.
State-dict keys equal the released file: 100 keys, 482,330,046 parameters for `IDM_4X`.

Reference quirks kept: `lastlayer` is built and loadable but not applied (the public forward
discards its output); `r_layer` and the empty `b_nd` (10, 0) exist but cannot affect anything (maxlen 0), so
they are not computed; logits are scaled by 1/head_dim. Frame order enters only through the 3D conv: the
transformer is permutation-equivariant over time.
Differences that change no number: the 3D conv + CNN run over chunks of `frame_chunk` frames (with a
2-frame halo) to bound memory; the reference's per-sample loop is one batched call; the state is accepted
and returned for API compatibility but is always empty.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from steve1.idm.config import (
    N_BUTTON_STATES,
    N_CAMERA_AXES,
    N_IDM_BUTTONS,
    N_IDM_CAMERA_BINS,
    IDMConfig,
)
from steve1.vpt.heads import CategoricalHead
from steve1.vpt.impala import IMPALA_OUT, ImpalaCNN
from steve1.vpt.layers import PreNormLayer, linear_layer
from steve1.vpt.transformer import AttentionWeights, LayerState, RecurrentBlock, State

DEFAULT_FRAME_CHUNK = 16  # frames per CNN call inside a window (memory bound, not a result change)


class IDMOutput(NamedTuple):
    logp_buttons: torch.Tensor  # (B, T, 20, 2) log-probs, class 1 = pressed, `BUTTONS_ALL` order
    logp_camera: torch.Tensor  # (B, T, 2, 11) log-probs of the (pitch, yaw) mu-law bins
    state: State  # per layer (None, (K, V)) with K, V (B, 0, hidsize): the IDM carries nothing


class IDMPrediction(NamedTuple):
    buttons: torch.Tensor  # (B, T, 20) int64 0/1
    camera: torch.Tensor  # (B, T, 2) int64 bins 0..10 (pitch, yaw)
    log_prob: torch.Tensor  # (B, T) sum of the 22 chosen log-probs


class WindowAttention(nn.Module):
    """Multi-head attention of every frame over every frame of the window (VPT mask style "none", maxlen 0).

    Parameters as VPT's `SelfAttentionLayer` (`orc_block.{q,k,v,proj,r}_layer`, `orc_block.b_nd` (10, 0)).
    """

    def __init__(self, hidsize: int, heads: int):
        super().__init__()
        self.heads = heads
        self.orc_block = AttentionWeights(hidsize, heads, maxlen=0)

    def forward(self, h: torch.Tensor, episode, state: LayerState) -> tuple[torch.Tensor, LayerState]:
        """h (B, T, E) normalised input -> (B, T, E); `episode` is ignored, `state` passed through."""
        w = self.orc_block
        B, T, E = h.shape
        H = self.heads
        D = E // H

        def heads(x: torch.Tensor) -> torch.Tensor:  # (B, T, E) -> (B, H, T, D) float32
            return x.view(B, T, H, D).transpose(1, 2).float()

        q, k, v = heads(w.q_layer(h)), heads(w.k_layer(h)), heads(w.v_layer(h))
        attn = F.scaled_dot_product_attention(q, k, v, scale=1.0 / D)  # (B, H, T, D), logits q.k/D
        return w.proj_layer(attn.to(h.dtype).transpose(1, 2).reshape(B, T, E)), state


class IDMImageEncoder(nn.Module):
    """VPT `img_process` of the IDM: (N, C, S, S) 3D-conv features -> (N, hidsize)."""

    def __init__(self, config: IDMConfig):
        super().__init__()
        self.cnn = ImpalaCNN(config, first_conv_norm=True)
        self.linear = linear_layer(IMPALA_OUT, config.hidsize, norm=True, bias=False, relu=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.cnn(x))


class IDMBlocks(nn.Module):
    """VPT `recurrent_layer` of the IDM: `blocks.{i}` with non-causal window attention."""

    def __init__(self, config: IDMConfig):
        super().__init__()
        self.blocks = nn.ModuleList(
            RecurrentBlock(config, attention=WindowAttention(config.hidsize, config.attention_heads))
            for _ in range(config.n_recurrence_layers)
        )

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        for block, layer_state in zip(self.blocks, state, strict=True):
            x, _ = block(x, None, layer_state)
        return x, state


class IDMNet(nn.Module):
    """VPT `InverseActionNet` (module `net`); registration order gives the reference's key order."""

    def __init__(self, config: IDMConfig):
        super().__init__()
        hid, k = config.hidsize, config.conv3d_kernel
        self.img_process = IDMImageEncoder(config)
        self.recurrent_layer = IDMBlocks(config)
        self.lastlayer = linear_layer(hid, hid, norm=True, bias=False, relu=True)  # loaded, never applied
        self.final_ln = nn.LayerNorm(hid)
        conv = nn.Conv3d(3, config.conv3d_out, kernel_size=(k, 1, 1), padding=(k // 2, 0, 0))
        self.conv3d_layer = PreNormLayer(conv, norm=None, relu=True)


class FactoredHead(CategoricalHead):
    """`n` independent categorical outputs of `k` classes from one linear layer: (..., E) -> (..., n, k)."""

    def __init__(self, hidsize: int, n: int, k: int, temperature: float):
        super().__init__(hidsize, n * k, temperature)
        self.shape = (n, k)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        logits = self.linear_layer(latent).unflatten(-1, self.shape) / self.temperature
        return F.log_softmax(logits.float(), dim=-1)


def _check_img(img, size: int) -> None:
    hint = f"(B, T, {size}, {size}, 3) uint8 RGB; resize frames with steve1.idm.preprocess.resize_frames"
    if not isinstance(img, torch.Tensor):
        raise TypeError(f"img must be a torch.Tensor {hint}, got {type(img).__name__}")
    if img.dim() != 5 or tuple(img.shape[2:]) != (size, size, 3) or img.shape[1] < 1:
        raise ValueError(f"img has shape {tuple(img.shape)}; expected {hint}")
    if img.dtype != torch.uint8:
        raise TypeError(f"img has dtype {img.dtype}; expected {hint}")


class InverseDynamicsModel(nn.Module):
    """VPT `InverseActionPolicy`: a window of frames -> per-frame button and camera log-probs."""

    def __init__(self, config: IDMConfig, frame_chunk: int = DEFAULT_FRAME_CHUNK):
        super().__init__()
        self.config = config
        self.frame_chunk = int(frame_chunk)
        self.net = IDMNet(config)
        self.pi_head = nn.ModuleDict(
            {  # buttons first, as the IDM action space
                "buttons": FactoredHead(config.hidsize, N_IDM_BUTTONS, N_BUTTON_STATES, config.temperature),
                "camera": FactoredHead(
                    config.hidsize, N_CAMERA_AXES, N_IDM_CAMERA_BINS, config.temperature
                ),
            }
        )

    def initial_state(self, batch_size: int) -> State:
        """Per layer (None, (K, V)) with K, V empty (B, 0, hidsize), as the reference's `initial_state`."""
        p = self.net.final_ln.weight
        empty = torch.zeros(batch_size, 0, self.config.hidsize, device=p.device, dtype=p.dtype)
        return [(None, (empty, empty)) for _ in range(self.config.n_recurrence_layers)]

    def encode_frames(self, img: torch.Tensor) -> torch.Tensor:
        """(B, T, S, S, 3) uint8 -> (B, T, E) features; frame t sees input frames t-2 .. t+2 only."""
        net, cfg = self.net, self.config
        conv = net.conv3d_layer.layer
        B, T = img.shape[:2]
        pad = cfg.conv3d_kernel // 2
        x = img.permute(0, 4, 1, 2, 3).to(conv.weight.dtype) / 255.0  # (B, 3, T, S, S)
        x = F.pad(x, (0, 0, 0, 0, pad, pad))  # (B, 3, T + 2*pad, S, S): black frames beyond the window
        out = []
        for t0 in range(0, T, self.frame_chunk):
            t1 = min(t0 + self.frame_chunk, T)
            y = F.relu(F.conv3d(x[:, :, t0 : t1 + 2 * pad], conv.weight, conv.bias))  # (B, C, t, S, S)
            y = y.transpose(1, 2).flatten(0, 1)  # (B*t, C, S, S)
            out.append(net.img_process(y).view(B, t1 - t0, -1))  # (B, t, E)
        return torch.cat(out, dim=1)  # (B, T, E)

    def forward(self, img: torch.Tensor, state: State | None = None, first=None) -> IDMOutput:
        """img uint8 (B, T, S, S, 3) RGB (S = config.img_size), one window per row; T >= 1.

        `state` and `first` are accepted as the reference does and have no effect.
        """
        _check_img(img, self.config.img_size)
        B = img.shape[0]
        if state is None:
            state = self.initial_state(B)
        elif len(state) != self.config.n_recurrence_layers:
            raise ValueError(
                f"state must have {self.config.n_recurrence_layers} entries (model.initial_state(B))"
            )
        x = self.encode_frames(img)  # (B, T, E)
        x, state = self.net.recurrent_layer(x, state)
        latent = self.net.final_ln(F.relu(x))  # lastlayer is not applied (reference quirk)
        return IDMOutput(self.pi_head["buttons"](latent), self.pi_head["camera"](latent), state)

    @torch.no_grad()
    def predict(self, img: torch.Tensor) -> IDMPrediction:
        """Deterministic actions (argmax per button / per camera axis), as `IDMAgent.predict_actions`."""
        out = self.forward(img)
        buttons = out.logp_buttons.argmax(-1)  # (B, T, 20)
        camera = out.logp_camera.argmax(-1)  # (B, T, 2)
        log_prob = out.logp_buttons.gather(-1, buttons[..., None]).sum((-2, -1)) + out.logp_camera.gather(
            -1, camera[..., None]
        ).sum((-2, -1))
        return IDMPrediction(buttons, camera, log_prob)


def state_dict_numel(module: nn.Module) -> int:
    return sum(t.numel() for t in module.state_dict().values())
