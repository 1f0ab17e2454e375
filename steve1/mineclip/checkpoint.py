"""Load the released `attn.pth` unchanged (md5 check, strict key/shape check, tied copies checked equal), and
MineCLIP checkpoints trained here (`steve1 train-mineclip`) in the same file layout.

The model is built on the `meta` device and only receives tensors from the file (`assign=True`), so a failed
load raises and there is no randomly initialised MineCLIP to fall back on.

A checkpoint of ours is `NAME.pth` in attn.pth's layout (`{"state_dict": {"model.<key>": tensor}}`, all
788 keys) with a sidecar `NAME.config.json` beside it: {"format": "steve1-mineclip", "config": {sizes}, ...}.
The sidecar is what marks a file as ours: with one, the sizes come from it and there is no md5 to check;
without one the file must be the released attn.pth (md5-checked as before). `--mineclip PATH_OR_NAME` goes
through `resolve_mineclip`: a config name (attn = the released file, others = seeded random weights) or a
path to a checkpoint of ours.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

import torch

from steve1 import paths
from steve1.mineclip.config import CONFIGS, MineClipConfig, get_config
from steve1.mineclip.model import TIED_PREFIXES, MineCLIP
from steve1.utils.checksum import ChecksumError, file_digest, verify_digest
from steve1.utils.state_dict import StateDictError, check_state_dict, name_keys

ATTN_MD5 = "b5ece9198337cfd117a3bfbd921e56da"  # data/weights/mineclip/attn.pth (STEVE-1 asserts it)
CHECKPOINT_PREFIX = "model."  # attn.pth: {"state_dict": {"model." + key: tensor}}
SIDECAR_SUFFIX = ".config.json"  # NAME.pth -> NAME.config.json: marks a checkpoint of ours
SIDECAR_FORMAT = "steve1-mineclip"


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


def sidecar_path(path: str | Path) -> Path:
    """NAME.pth -> NAME.config.json (the file that marks a checkpoint of ours and holds its sizes)."""
    path = Path(path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def read_sidecar(path: str | Path) -> dict | None:
    """The sidecar of checkpoint `path`, or None when there is none (the released attn.pth has none)."""
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        meta = json.loads(side.read_text())
    except json.JSONDecodeError as err:
        raise MineClipCheckpointError(f"{side} is not JSON ({err})") from None
    if not (isinstance(meta, dict) and meta.get("format") == SIDECAR_FORMAT and isinstance(meta.get("config"),
                                                                                            dict)):
        raise MineClipCheckpointError(f"{side} is not a {SIDECAR_FORMAT} sidecar (needs format and config)")
    return meta


def config_from_sidecar(meta: Mapping) -> MineClipConfig:
    fields = {f.name for f in dataclasses.fields(MineClipConfig)}
    unknown = sorted(set(meta["config"]) - fields)
    if unknown:
        raise MineClipCheckpointError(f"MineCLIP sidecar has unknown config fields: {', '.join(unknown)}")
    return MineClipConfig(**meta["config"])


def save_mineclip(model: MineCLIP, path: str | Path, extra: Mapping | None = None,
                  dtype: torch.dtype = torch.float32) -> Path:
    """Write `model` as a checkpoint of ours: attn.pth's layout (`path`) and its sidecar, each atomically.

    dtype float16 / bfloat16 halves the file (the loader converts back to float32): for shipping a model
    whose weights are already rounded to that dtype (`round_weights`). The tied copies of a tower are then
    stored once (shared storage; the keys are all there). The weights are written first and the sidecar
    last, so a file with a sidecar is always complete."""
    from steve1.utils.atomic import atomic_path, atomic_write_text

    path = Path(path)
    if dtype == torch.float32:
        state = {CHECKPOINT_PREFIX + k: v.detach().to("cpu", torch.float32).clone()
                 for k, v in model.state_dict().items()}
    else:
        converted: dict[tuple, torch.Tensor] = {}  # one stored tensor per tied tensor
        state = {}
        for k, v in model.state_dict().items():
            same = (v.data_ptr(), tuple(v.shape), v.stride())
            if same not in converted:
                converted[same] = v.detach().to("cpu", dtype).clone()
            state[CHECKPOINT_PREFIX + k] = converted[same]
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state}, tmp)
    meta = {"format": SIDECAR_FORMAT, "config": dataclasses.asdict(model.config),
            "config_name": config_name(model.config), "sha256": file_digest(path, "sha256"), **(extra or {})}
    atomic_write_text(sidecar_path(path), json.dumps(meta, indent=1))
    return path


@torch.no_grad()
def round_weights(model: MineCLIP, dtype: torch.dtype = torch.float16) -> MineCLIP:
    """Round every weight of `model` (float32) to the nearest `dtype` value, in place: a checkpoint saved
    from it in `dtype` then loads back to exactly these float32 weights."""
    for t in model.state_dict().values():
        t.copy_(t.to(dtype).to(t.dtype))
    return model


def config_name(cfg: MineClipConfig) -> str:
    """The preset's name for `cfg` ('attn', 'small', ...) or 'custom'."""
    return next((k for k, v in CONFIGS.items() if v == cfg), "custom")


def mineclip_file(spec: str | Path) -> Path:
    """The checkpoint file `spec` names: 'minetest' (`paths.SHIPPED_NAME`) is the MineCLIP this package ships,
    trained on the embedded Minetest world (`paths.SHIPPED_MINECLIP`); anything else is a path."""
    if str(spec) != paths.SHIPPED_NAME:
        return Path(spec)
    if not (paths.SHIPPED_MINECLIP.is_file() and sidecar_path(paths.SHIPPED_MINECLIP).is_file()):
        raise FileNotFoundError(
            f"--mineclip {paths.SHIPPED_NAME}: the shipped MineCLIP {paths.SHIPPED_MINECLIP} (and its "
            f"{sidecar_path(paths.SHIPPED_MINECLIP).name}) is missing from this installation; reinstall the "
            f"package, or train one (steve1 train-mineclip) and pass its path")
    return paths.SHIPPED_MINECLIP


def load_mineclip(
    path: str | Path = paths.MINECLIP_WEIGHTS,
    config: str | MineClipConfig | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    check_md5: bool = True,
) -> MineCLIP:
    """Load MineCLIP from `attn.pth` or a checkpoint of ours onto `device` in `dtype`, in eval mode.

    config: None = from the file (its sidecar for ours, 'attn' for the released file); a given config must
    match. check_md5: verify the released file's md5 (b5ece919...); checkpoints of ours (with a sidecar) are
    never md5-checked, and False skips the check for other files in the attn.pth layout. path 'minetest':
    the MineCLIP this package ships (`mineclip_file`).
    """
    path = mineclip_file(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"MineCLIP weights not found at {path}: download them (download_weights.sh puts attn.pth in "
            f"data/weights/mineclip/) or pass path=..."
        )
    meta = read_sidecar(path)
    if meta is not None:  # ours: sizes from the sidecar
        cfg = config_from_sidecar(meta)
        if config is not None and get_config(config) != cfg:
            raise MineClipCheckpointError(f"{path} holds a MineCLIP of config {config_name(cfg)} (see "
                                          f"{sidecar_path(path).name}), not {config}")
    else:
        cfg = get_config("attn" if config is None else config)
        if check_md5:
            try:
                verify_digest(path, ATTN_MD5, "md5", what="MineCLIP checkpoint")
            except ChecksumError as err:
                raise ChecksumError(
                    f"{err} (a MineCLIP trained by `steve1 train-mineclip` has a {sidecar_path(path).name} "
                    f"beside it; for another file of your own in this layout pass check_md5=False)") from None
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means "not a tensor checkpoint"
        raise MineClipCheckpointError(f"{path} is not a readable torch checkpoint of tensors: {err}") from err
    state = extract_state_dict(checkpoint, source=str(path))
    model = mineclip_from_state_dict(state, cfg, source=str(path))
    return model.to(device=device, dtype=dtype)


def is_config_name(spec: str | Path) -> bool:
    return isinstance(spec, str) and spec in CONFIGS


def resolve_mineclip(
    spec: str | Path = "attn",
    released_weights: str | Path = paths.MINECLIP_WEIGHTS,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> tuple[MineCLIP, str]:
    """(model, description) for `--mineclip PATH_OR_NAME`.

    'attn': the released file at `released_weights` (md5-checked); another config name ('tiny', 'small',
    'reduced'): seeded random weights (their embeddings mean nothing); 'minetest': the MineCLIP this package
    ships; anything else: a checkpoint path (ours, recognised by its sidecar, or the released file).
    """
    if spec == "attn":
        if read_sidecar(released_weights) is not None:
            raise MineClipCheckpointError(f"{released_weights} is a MineCLIP of ours, not the released "
                                          f"attn.pth: pass it as --mineclip {released_weights}")
        model = load_mineclip(released_weights, "attn", device=device)
        return model, f"MineCLIP attn (released {released_weights})"
    if is_config_name(spec):
        return random_mineclip(spec, seed=seed).to(device), f"MineCLIP {spec} with seeded RANDOM weights"
    path = mineclip_file(spec)
    if not path.is_file():
        names = ", ".join(sorted(CONFIGS) + [paths.SHIPPED_NAME])
        raise FileNotFoundError(f"--mineclip {spec}: neither a name ({names}) nor a checkpoint file")
    meta = read_sidecar(path)
    model = load_mineclip(path, device=device)
    what = f"ours, config {meta.get('config_name', 'custom')}" if meta else "released attn"
    return model, f"MineCLIP {path} ({what})"


def random_mineclip(config: str | MineClipConfig = "tiny", seed: int = 0) -> MineCLIP:
    """A MineCLIP with seeded random weights and no file, in eval mode, leaving the global RNG untouched.

    For smoke runs, tests and benchmarks only: its embeddings mean nothing.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MineCLIP(get_config(config)).eval()
