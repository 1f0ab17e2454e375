"""Policy hyperparameters: the three released VPT sizes, a tiny test size, and `.model` file reading.

A `.model` file is a pickle of nested dicts; only `["model"]["args"]["net"]["args"]` (the network kwargs) and
`["model"]["args"]["pi_head_opts"]["temperature"]` are read. It is opened with the restricted unpickler.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from steve1.utils.safe_pickle import safe_load

# Fixed by the VPT architecture (not stored in the .model files).
N_CAMERA_CLASSES = 121  # 11 x 11 joint pitch/yaw bins
N_BUTTON_CLASSES = 8641  # 8640 button combinations + 1 exclusive "inventory" class
N_REL_BASIS = 10  # relative-position basis functions per attention layer
IMG_SIZE = 128  # the policy sees 128x128 RGB frames
MINECLIP_DIM = 512  # STEVE-1 goal embedding size


class NetSizes:
    """What the policy and IDM configs share: `head_dim`, `cnn_channels` and the checks of their
    hidsize / attention_heads / impala_chans / temperature fields (subclasses are frozen dataclasses)."""

    @property
    def head_dim(self) -> int:
        return self.hidsize // self.attention_heads

    @property
    def cnn_channels(self) -> tuple[int, ...]:
        return tuple(c * self.impala_width for c in self.impala_chans)

    def _check_sizes(self) -> None:
        """Normalise impala_chans / temperature (YAML and pickles give lists and ints) and check the heads."""
        object.__setattr__(self, "impala_chans", tuple(int(c) for c in self.impala_chans))
        object.__setattr__(self, "temperature", float(self.temperature))
        if self.hidsize % self.attention_heads:
            raise ValueError(
                f"hidsize {self.hidsize} is not divisible by attention_heads {self.attention_heads}"
            )


@dataclass(frozen=True)
class PolicyConfig(NetSizes):
    """Network kwargs of VPT's `MinecraftPolicy` (names as in the `.model` file) plus the head temperature."""

    hidsize: int = 2048
    impala_width: int = 8
    impala_chans: tuple[int, ...] = (16, 32, 32)
    attention_heads: int = 16
    attention_memory_size: int = 256
    timesteps: int = 128
    n_recurrence_layers: int = 4
    pointwise_ratio: int = 4
    img_shape: tuple[int, int, int] = (IMG_SIZE, IMG_SIZE, 3)
    temperature: float = 2.0

    @property
    def maxlen(self) -> int:
        """Length of the per-layer key/value memory (frames); each frame attends to itself + maxlen-1 past."""
        return self.attention_memory_size - self.timesteps

    def __post_init__(self) -> None:
        self._check_sizes()
        object.__setattr__(self, "img_shape", tuple(int(c) for c in self.img_shape))
        if self.maxlen <= 0:
            raise ValueError(
                f"attention_memory_size ({self.attention_memory_size}) must exceed "
                f"timesteps ({self.timesteps})"
            )
        if self.img_shape != (IMG_SIZE, IMG_SIZE, 3):
            raise ValueError(f"img_shape must be (128, 128, 3), got {self.img_shape}")


# Values from the VPT `.model` files. Only these differ between sizes.
POLICY_SIZES: dict[str, PolicyConfig] = {
    "1x": PolicyConfig(hidsize=1024, impala_width=4, attention_heads=8),
    "2x": PolicyConfig(hidsize=2048, impala_width=8, attention_heads=16),
    "3x": PolicyConfig(hidsize=3072, impala_width=12, attention_heads=24),
}

# The configuration of the parity fixtures (tests/fixtures/parity/vpt_policy_tiny.pt).
TINY_CONFIG = PolicyConfig(
    hidsize=64, impala_width=1, impala_chans=(4, 8, 8), attention_heads=2,
    attention_memory_size=32, timesteps=16, n_recurrence_layers=2,
)

# The policy this project trains from scratch on the embedded Minetest world (steve1/weights/minetest/): the
# tiny CNN's first stage (4 channels) cannot tell a trunk from a leaf, so the CNN is twice as wide; 128 past
# frames of memory (6.4 s). About 2.7 M parameters, ~150 training frames per CPU-second.
SMALL_CONFIG = PolicyConfig(
    hidsize=128, impala_width=1, impala_chans=(8, 16, 16), attention_heads=4,
    attention_memory_size=144, timesteps=16, n_recurrence_layers=2,
)

# Keys of the `.model` net args that must hold these values: the port implements no other variant.
_REQUIRED_NET_ARGS: dict[str, Any] = {
    "attention_mask_style": "clipped_causal",
    "recurrence_type": "transformer",
    "use_pointwise_layer": True,
    "pointwise_use_activation": False,
    "recurrence_is_residual": True,
    "use_pre_lstm_ln": False,
    "impala_kwargs": {"post_pool_groups": 1},
    "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1},
}
ConfigT = TypeVar("ConfigT")
_FIELDS = {f.name for f in dataclasses.fields(PolicyConfig)} - {"temperature"}


def check_net_args(
    net_args: dict[str, Any], required: dict[str, Any], needed: tuple[str, ...], variant: str, kind: str
) -> None:
    """Raise unless `net_args` (a `.model` file's net kwargs) has every `needed` key and, where present, the
    `required` values. variant / kind name the model in messages: "VPT" / "VPT policy", "IDM" / "VPT IDM"."""
    for key, want in required.items():
        if key in net_args and net_args[key] != want:
            raise ValueError(
                f"unsupported {variant} variant: {key}={net_args[key]!r} (this port implements {want!r})"
            )
    missing = sorted(k for k in needed if k not in net_args)
    if missing:
        raise ValueError(f"net args lack {missing}; is this a {kind} .model file?")


def config_from_kwargs(net_args: dict[str, Any], temperature: float = 2.0) -> PolicyConfig:
    """A config from `MinecraftPolicy` kwargs (a `.model` file's net args); unsupported variants raise."""
    check_net_args(net_args, _REQUIRED_NET_ARGS, ("hidsize", "impala_width", "attention_heads"), "VPT",
                   "VPT policy")
    kwargs = {k: v for k, v in net_args.items() if k in _FIELDS}
    return PolicyConfig(**kwargs, temperature=float(temperature))


def read_model_file(
    path: str | Path, build: Callable[[dict[str, Any], float], ConfigT], kind: str, not_found: str,
    wrong_file_hint: str = "did you pass a .weights file?",
) -> ConfigT:
    """Read a VPT `.model` pickle safely and return `build(net_args, temperature)`.

    Shared by the policy and IDM readers. kind names the file in messages ("VPT policy"); not_found is the
    message for a missing file; errors of `build` are re-raised as ValueError prefixed with the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {not_found}")
    data = safe_load(path)
    try:
        args = data["model"]["args"]
        net_args = args["net"]["args"]
        temperature = args["pi_head_opts"]["temperature"]
    except (KeyError, TypeError) as e:
        raise ValueError(
            f"{path}: not a {kind} .model file (no ['model']['args']['net']['args'] / "
            f"['model']['args']['pi_head_opts']['temperature']: missing {e}); {wrong_file_hint}"
        ) from None
    if not isinstance(net_args, dict):
        kind_name = type(net_args).__name__
        raise ValueError(f"{path}: ['model']['args']['net']['args'] is a {kind_name}, not a dict")
    try:
        return build(net_args, float(temperature))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None


def load_model_file(path: str | Path) -> PolicyConfig:
    """Read a VPT `.model` pickle (e.g. `2x.model`) safely and return its `PolicyConfig`."""
    return read_model_file(
        path, config_from_kwargs, "VPT policy", "no such .model file (download it with download_weights.sh)",
        "did you pass a .weights file or an IDM model?",
    )


def resolve_config(
    name_or_path: str | Path | ConfigT, config_type: type, sizes: dict[str, ConfigT],
    load: Callable[[Path], ConfigT], what: str,
) -> ConfigT:
    """A config object returned as is, a size name looked up in `sizes`, or a `.model` path read by `load`.

    what names the model in the error for an unknown name ("policy", "IDM").
    """
    if isinstance(name_or_path, config_type):
        return name_or_path
    key = str(name_or_path)
    if key in sizes:
        return sizes[key]
    path = Path(key)
    if path.suffix != ".model" and not path.exists():
        raise ValueError(f"unknown {what} size {key!r}: use one of {sorted(sizes)} or a .model file path")
    return load(path)


def policy_config(name_or_path: str | Path | PolicyConfig) -> PolicyConfig:
    """"1x" / "2x" / "3x" / "small" / "tiny", a `.model` file path, or a `PolicyConfig` (returned as is)."""
    sizes = {**POLICY_SIZES, "small": SMALL_CONFIG, "tiny": TINY_CONFIG}
    return resolve_config(name_or_path, PolicyConfig, sizes, load_model_file, "policy")
