"""IDM hyperparameters: the released `4x_idm` size, a tiny test size, and `4x_idm.model` reading.

The `.model` file has the policy files' layout: only `["model"]["args"]["net"]["args"]` (network kwargs) and
`["model"]["args"]["pi_head_opts"]["temperature"]` are read, through the restricted unpickler.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steve1.vpt.config import NetSizes, check_net_args, read_model_file, resolve_config

N_IDM_BUTTONS = 20  # independent binary buttons, VPT `Buttons.ALL` order
N_BUTTON_STATES = 2  # released / pressed
N_CAMERA_AXES = 2  # pitch, yaw
N_IDM_CAMERA_BINS = 11  # mu-law bins per axis


@dataclass(frozen=True)
class IDMConfig(NetSizes):
    """Network kwargs of VPT's `InverseActionNet` that this port varies, plus the head temperature.

    Fixed by the released IDM (checked when reading a `.model` file): mask style "none", memory size equal to
    timesteps (maxlen 0: no KV cache, no relative bias), a temporal-only 3D conv of `conv3d_kernel` frames
    zero-padded by `conv3d_kernel // 2` at both window ends, pre-norm everywhere.
    """

    hidsize: int = 4096
    impala_width: int = 16
    impala_chans: tuple[int, ...] = (16, 32, 32)
    attention_heads: int = 32
    n_recurrence_layers: int = 2
    pointwise_ratio: int = 4
    conv3d_out: int = 128  # channels of the 3D conv = input channels of the ImpalaCNN
    conv3d_kernel: int = 5  # frames seen by the temporal conv (t-2 .. t+2)
    img_size: int = 128  # frames are resized to img_size x img_size RGB
    temperature: float = 4.0

    maxlen = 0  # attention_memory_size - timesteps in the released file: no memory between calls

    @property
    def img_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the ImpalaCNN input (VPT `img_shape`): C is the 3D conv's output channels."""
        return (self.img_size, self.img_size, self.conv3d_out)

    def __post_init__(self) -> None:
        self._check_sizes()
        if self.conv3d_kernel < 1 or self.conv3d_kernel % 2 == 0:
            raise ValueError(f"conv3d_kernel must be odd and >= 1, got {self.conv3d_kernel}")
        downsample = 2 ** len(self.impala_chans)
        if self.img_size % downsample:
            raise ValueError(
                f"img_size {self.img_size} must be divisible by {downsample} (one halving per stack)"
            )


IDM_4X = IDMConfig()  # values of the released 4x_idm.model
# A small config: every IDM property kept (maxlen 0, head dim 128), runs in milliseconds.
IDM_TINY = IDMConfig(hidsize=256, impala_width=1, attention_heads=2, conv3d_out=8, img_size=32)
IDM_SIZES = {"4x": IDM_4X, "tiny": IDM_TINY}

# `.model` net args that must hold these values: the port implements no other variant.
_REQUIRED_NET_ARGS: dict[str, Any] = {
    "attention_mask_style": "none",
    "recurrence_type": "transformer",
    "use_pointwise_layer": True,
    "pointwise_use_activation": False,
    "recurrence_is_residual": True,
    "impala_kwargs": {"post_pool_groups": 1},
    "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1},
}


def _conv3d_fields(params: Any) -> dict[str, int]:
    if not isinstance(params, dict):
        raise ValueError(
            f"conv3d_params is {params!r}; expected a dict (inchan, outchan, kernel_size, padding)"
        )
    try:
        kernel = [int(k) for k in params["kernel_size"]]
        padding = [int(p) for p in params.get("padding", [0, 0, 0])]
        inchan, outchan = int(params["inchan"]), int(params["outchan"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"conv3d_params {params!r} is malformed ({type(e).__name__}: {e})") from None
    k = kernel[0]
    if inchan != 3 or len(kernel) != 3 or kernel[1:] != [1, 1] or padding != [k // 2, 0, 0] or k % 2 == 0:
        raise ValueError(
            f"unsupported conv3d_params {params!r}: this port implements a temporal-only RGB conv "
            "(inchan 3, kernel [k, 1, 1] with odd k, padding [k // 2, 0, 0])"
        )
    return {"conv3d_out": outchan, "conv3d_kernel": k}


def idm_config_from_kwargs(net_args: dict[str, Any], temperature: float = 4.0) -> IDMConfig:
    """An `IDMConfig` from `InverseActionNet` kwargs (a `.model` file's net args); other variants raise."""
    if "conv3d_params" not in net_args:
        raise ValueError("net args have no conv3d_params: this is a VPT policy .model file, not an IDM one")
    needed = ("hidsize", "impala_width", "attention_heads", "img_shape")
    check_net_args(net_args, _REQUIRED_NET_ARGS, needed, "IDM", "VPT IDM")
    memory, timesteps = net_args.get("attention_memory_size", 128), net_args.get("timesteps", 128)
    if memory != timesteps:
        raise ValueError(
            f"attention_memory_size {memory} != timesteps {timesteps}: only the released IDM's "
            "memory-free attention (maxlen 0) is implemented"
        )
    conv = _conv3d_fields(net_args["conv3d_params"])
    h, w, c = (int(v) for v in net_args["img_shape"])
    if h != w or c != conv["conv3d_out"]:
        raise ValueError(
            f"img_shape {net_args['img_shape']} must be [S, S, conv3d outchan {conv['conv3d_out']}]"
        )
    fields = {f.name for f in dataclasses.fields(IDMConfig)}
    kwargs = {k: v for k, v in net_args.items() if k in fields and k != "temperature"}
    return IDMConfig(**kwargs, **conv, img_size=h, temperature=float(temperature))


def load_idm_model_file(path: str | Path) -> IDMConfig:
    """Read `4x_idm.model` safely and return its `IDMConfig`."""
    return read_model_file(
        path, idm_config_from_kwargs, "VPT IDM",
        "no such IDM .model file (download it: ./download_weights.sh idm)",
    )


def idm_config(name_or_path: str | Path | IDMConfig) -> IDMConfig:
    """ "4x" / "tiny", a path to an IDM `.model` file, or an `IDMConfig` (returned as is)."""
    return resolve_config(name_or_path, IDMConfig, IDM_SIZES, load_idm_model_file, "IDM")
