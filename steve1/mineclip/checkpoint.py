"""Load the released `attn.pth` unchanged: md5 check, strict key/shape check, tied copies checked equal.

The model is built on the `meta` device and only receives tensors from the file (`assign=True`), so a failed
load raises and there is no randomly initialised MineCLIP to fall back on.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from steve1 import paths
from steve1.mineclip.config import CONFIGS, MineClipConfig, get_config
from steve1.mineclip.model import TIED_PREFIXES, MineCLIP
from steve1.utils.checksum import ChecksumError, verify_digest
from steve1.utils.state_dict import StateDictError, check_state_dict, name_keys

ATTN_MD5 = "b5ece9198337cfd117a3bfbd921e56da"  # data/weights/mineclip/attn.pth (STEVE-1 asserts it)
CHECKPOINT_PREFIX = "model."  # attn.pth: {"state_dict": {"model." + key: tensor}}


class MineClipCheckpointError(StateDictError):
    """The file is not a MineCLIP checkpoint for the requested config."""


def extract_state_dict(checkpoint: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The module state dict from `{"state_dict": {"model.<key>": ...}}` (attn.pth) or a bare state dict.

    As MineCLIP's own `load_ckpt`, only the "model."-prefixed entries of a wrapped file are used.
    """
    if not isinstance(checkpoint, Mapping):
        raise MineClipCheckpointError(f"{source} holds a {type(checkpoint).__name__}, not a state dict")
    if "state_dict" in checkpoint and isinstance(checkpoint["state_dict"], Mapping):
        wrapped = checkpoint["state_dict"]
        n = len(CHECKPOINT_PREFIX)
        state = {k[n:]: v for k, v in wrapped.items() if k.startswith(CHECKPOINT_PREFIX)}
        if not state:
            raise MineClipCheckpointError(
                f"{source} has a 'state_dict' without any '{CHECKPOINT_PREFIX}' keys "
                f"(first keys: {name_keys(list(wrapped))}); this is not MineCLIP's attn.pth"
            )
    else:
        state = dict(checkpoint)
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise MineClipCheckpointError(f"{source} has non-tensor entries: {name_keys(bad)}")
    return state


def _check_tied_copies(state: Mapping[str, torch.Tensor], source: str) -> None:
    """The original stores each tied tower under several names; they must be bit-identical."""
    differ = []
    for canonical, *copies in TIED_PREFIXES:
        for key, value in state.items():
            if not key.startswith(canonical):
                continue
            for prefix in copies:
                other = state.get(prefix + key[len(canonical) :])
                if other is not None and not (other.shape == value.shape and torch.equal(other, value)):
                    differ.append(prefix + key[len(canonical) :])
    if differ:
        raise MineClipCheckpointError(
            f"{source}: tied copies of the CLIP towers differ from their canonical copy: {name_keys(differ)}"
        )


def mineclip_from_state_dict(
    state: Mapping[str, torch.Tensor], config: str | MineClipConfig = "attn", source: str = "state dict"
) -> MineCLIP:
    """A MineCLIP holding exactly `state` (strict: every key present, no extra key, every shape equal)."""
    cfg = get_config(config)
    with torch.device("meta"):
        model = MineCLIP(cfg)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    name = next((k for k, v in CONFIGS.items() if v == cfg), str(cfg))
    check_state_dict(
        expected, state, f"{source} does not match MineCLIP config {name}",
        hint="Pass the MineCLIP attn.pth (data/weights/mineclip/attn.pth) and the matching config.",
        error=MineClipCheckpointError,
    )
    _check_tied_copies(state, source)
    model.load_state_dict({k: state[k].float() for k in expected}, strict=True, assign=True)
    left_on_meta = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if left_on_meta:  # cannot happen after a strict load; guards against running half-loaded
        raise MineClipCheckpointError(f"{source}: tensors were not loaded: {name_keys(left_on_meta)}")
    return model.eval()


def load_mineclip(
    path: str | Path = paths.MINECLIP_WEIGHTS,
    config: str | MineClipConfig = "attn",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    check_md5: bool = True,
) -> MineCLIP:
    """Load MineCLIP from `attn.pth` (or any file in its format) onto `device` in `dtype`, in eval mode.

    check_md5: verify the released file's md5 (b5ece919...); pass False for your own checkpoints.
    """
    cfg = get_config(config)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"MineCLIP weights not found at {path}: download them (download_weights.sh puts attn.pth in "
            f"data/weights/mineclip/) or pass path=..."
        )
    if check_md5:
        try:
            verify_digest(path, ATTN_MD5, "md5", what="MineCLIP checkpoint")
        except ChecksumError as err:
            raise ChecksumError(f"{err} (For a checkpoint of your own, pass check_md5=False.)") from None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not a tensor checkpoint"
        raise MineClipCheckpointError(f"{path} is not a readable torch checkpoint of tensors: {err}") from err
    state = extract_state_dict(checkpoint, source=str(path))
    model = mineclip_from_state_dict(state, cfg, source=str(path))
    return model.to(device=device, dtype=dtype)


def random_mineclip(config: str | MineClipConfig = "tiny", seed: int = 0) -> MineCLIP:
    """A MineCLIP with seeded random weights and no file, in eval mode, leaving the global RNG untouched.

    For smoke runs, tests and benchmarks only: its embeddings mean nothing.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MineCLIP(get_config(config)).eval()
