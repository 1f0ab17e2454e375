"""Model FLOPs of the VPT / STEVE-1 policy per frame, counted from the architecture, and peak device FLOP/s.

Counted: every conv and linear layer (2 * multiply-adds) and the attention products (q.k over the keys a
query sees, weights.v, and the relative-position bias r @ b_nd). Not counted: norms, activations, pooling,
softmax, the log-softmax of the heads (well under 1% of the total for the released sizes). Training costs
3x the forward pass (forward + backward for activations and weights), the usual convention for MFU.

`attended_keys` is how many keys each query is multiplied with: the training path (`MemoryAttention._chunk`)
computes all `maxlen + t` keys of a chunk of t frames (masked ones included), the agent's single step
`maxlen`.
"""
from __future__ import annotations

from steve1.vpt.config import IMG_SIZE, N_BUTTON_CLASSES, N_CAMERA_CLASSES, N_REL_BASIS, PolicyConfig
from steve1.vpt.impala import IMPALA_OUT, N_BLOCKS

TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (input and weight gradients)
KERNEL = 3  # every IMPALA conv is 3x3

# Dense bf16 tensor-core peak FLOP/s per device (vendor data sheets, no sparsity), matched in order against
# torch.cuda.get_device_name(): more specific names first.
PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10", 125e12),
    ("RTX 4090", 165e12),
)


def cnn_flops_per_frame(config: PolicyConfig, first_conv_norm: bool = False) -> int:
    """ImpalaCNN (convs + dense) for one 128x128 frame."""
    del first_conv_norm  # the norm changes no conv shape
    flops, side, c_in = 0, IMG_SIZE, config.img_shape[2]
    for c_out in config.cnn_channels:
        flops += 2 * side * side * c_in * c_out * KERNEL * KERNEL  # firstconv at the stack's input size
        side = (side + 1) // 2  # maxpool 3, stride 2, pad 1
        flops += 2 * N_BLOCKS * 2 * side * side * c_out * c_out * KERNEL * KERNEL  # 2 convs per block
        c_in = c_out
    return flops + 2 * c_in * side * side * IMPALA_OUT


def policy_forward_flops_per_frame(config: PolicyConfig, goal_dim: int | None, attended_keys: int) -> int:
    """One frame through the whole policy (CNN, goal layer, transformer, heads), forward only."""
    E, H = config.hidsize, config.attention_heads
    wide = E * config.pointwise_ratio
    flops = cnn_flops_per_frame(config) + 2 * IMPALA_OUT * E  # + ImageEncoder.linear
    if goal_dim is not None:
        flops += 2 * goal_dim * E
    per_layer = (
        4 * 2 * E * E  # q, k, v, proj
        + 2 * E * N_REL_BASIS * H  # r_layer
        + 2 * H * N_REL_BASIS * config.maxlen  # r @ b_nd: bias for every distance
        + 2 * 2 * attended_keys * E  # q.k and weights.v over the keys, all heads
        + 2 * 2 * E * wide  # mlp0, mlp1
    )
    flops += config.n_recurrence_layers * per_layer
    flops += 2 * E * E + 2 * E * (N_CAMERA_CLASSES + N_BUTTON_CLASSES + 1)  # lastlayer, pi heads, value head
    return flops


def train_flops_per_frame(config: PolicyConfig, goal_dim: int | None, trunc_t: int) -> int:
    """Forward + backward FLOPs per training frame, chunks of `trunc_t` frames (keys = maxlen + trunc_t)."""
    keys = config.maxlen + trunc_t
    return TRAIN_FLOPS_PER_FORWARD * policy_forward_flops_per_frame(config, goal_dim, keys)


def peak_flops(device_name: str) -> float | None:
    """Dense bf16 peak FLOP/s of a CUDA device from its name; None when the table does not know it."""
    for key, peak in PEAK_BF16_FLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None
