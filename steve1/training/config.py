"""Training configuration: one dataclass, loaded from `configs/train_<name>.yaml` (steve1.md §6.1, §10.1)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIGS_DIR = Path(__file__).resolve().parents[2] / "configs"


@dataclass
class TrainConfig:
    # model
    policy: str = "2x"  # "2x", "tiny", or a path to a VPT .model file
    in_weights: str | None = "data/weights/vpt/rl-from-foundation-2x.weights"
    out_weights: str = "data/weights/steve1/trained_with_script.weights"
    # data
    sampling: str = "neurips"
    sampling_dir: str = "data/samplings"
    data_limit: int | None = None
    val_every_nth: int = 1
    num_workers: int = 4
    T: int = 640
    trunc_t: int = 64
    min_btwn_goals: int = 15
    max_btwn_goals: int = 200
    p_uncond: float = 0.1
    one_step_past_goal: bool = True  # the original's relabeling quirk (steve1.md §11.1 #8)
    # optimisation
    seed: int = 42
    batch_size: int = 12
    gradient_accumulation_steps: int = 4
    learning_rate: float = 4e-5
    weight_decay: float = 0.039428
    max_grad_norm: float = 5.0
    n_frames: int = 100_000_000
    warmup_frames: int = 10_000_000
    mixed_precision: str | None = "bf16"  # None: whatever `accelerate launch` says
    # schedule of side jobs (in micro-steps unless named frames)
    log_freq: int = 100
    save_freq: int = 1000
    val_freq: int = 1000
    val_freq_begin: int = 100
    val_freq_switch_steps: int = 500
    snapshot_every_n_frames: int = 50_000_000
    checkpoint_dir: str = "data/training_checkpoint"
    keep_checkpoints: int = 2
    resume: bool = True  # continue from checkpoint_dir/latest when present
    # logging
    wandb: bool = False
    wandb_project: str = "steve1_finetune"
    progress_bar: bool = True
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.T % self.trunc_t != 0:
            raise ValueError(f"T={self.T} must be a multiple of trunc_t={self.trunc_t} (the chunk length)")
        for name in ("T", "trunc_t", "batch_size", "gradient_accumulation_steps", "n_frames", "log_freq",
                     "save_freq", "val_freq", "val_freq_begin", "snapshot_every_n_frames",
                     "keep_checkpoints"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.warmup_frames < 0 or self.num_workers < 0:
            raise ValueError("warmup_frames and num_workers must be >= 0")

    @property
    def chunks_per_sequence(self) -> int:
        return self.T // self.trunc_t


def _coerce(name: str, hint: str, value):
    """YAML/CLI value -> the field's type (YAML 1.1 reads `1e-4` as a string; `none` means None)."""
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null") and "None" in hint):
        return None
    try:
        if hint.startswith("bool"):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if hint.startswith("int"):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) else int(value)
        if hint.startswith("float"):
            return float(value)
        if hint.startswith("str"):
            return str(value)
    except (TypeError, ValueError):
        raise ValueError(f"training config {name}={value!r} is not a valid {hint}") from None
    return value


def load_config(name_or_path: str | Path, **overrides) -> TrainConfig:
    """`tiny` / `small` / `paper` (configs/train_<name>.yaml) or a YAML path; `overrides` win."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIGS_DIR / f"train_{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"training config {path} not found (names: tiny, small, paper, or a .yaml path)"
        )
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"training config {path} is not valid YAML ({' '.join(str(e).split())})") from None
    if not isinstance(values, dict):
        raise ValueError(f"training config {path} holds a {type(values).__name__}, expected key: value lines")
    values.update(overrides)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown training config keys in {path}: {unknown}; known keys: {sorted(known)}")
    hints = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: _coerce(k, hints[k], v) for k, v in values.items()})
    cfg.validate()
    return cfg
