"""Training settings: one dataclass (`steve1 train --help`), with named configs shipped in the package
(steve1/configs/train_<name>.yaml: tiny, small, paper) or any YAML file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from steve1.cli_config import check, packaged_config, settings_from_yaml

CONFIG_PREFIX = "train"  # steve1/configs/train_<name>.yaml
CONFIGS_DIR = packaged_config(CONFIG_PREFIX, "paper").parent


@dataclass
class TrainConfig:
    """Fine-tune VPT into STEVE-1 (goal-conditioned behaviour cloning with hindsight relabelling)."""

    # model
    policy: str = "2x"
    """VPT size (1x, 2x, 3x, tiny) or a path to a VPT .model file"""
    in_weights: str | None = "data/weights/vpt/rl-from-foundation-2x.weights"
    """weights to start from (none: random init)"""
    out_weights: str = "data/weights/steve1/trained_with_script.weights"
    """where the trained weights go (also <stem>_best and <stem>_snapshot_<frames>)"""
    # data
    sampling: str = "neurips"
    """the sampling (train/val episode lists) to train on: <sampling_dir>/<name>_{train,val}.txt"""
    sampling_dir: str = "data/samplings"
    """folder of the samplings (steve1 create-sampling)"""
    data_limit: int | None = None
    """use at most this many training episodes (default: all)"""
    val_every_nth: int = 1
    """use every n-th validation episode"""
    num_workers: int = 4
    """data loader worker processes"""
    T: int = 640
    """sequence length per training sample (frames)"""
    trunc_t: int = 64
    """truncated-BPTT chunk length; T must be a multiple of it"""
    min_btwn_goals: int = 15
    """hindsight relabelling: fewest frames between goals"""
    max_btwn_goals: int = 200
    """hindsight relabelling: most frames between goals"""
    p_uncond: float = 0.1
    """probability of a zero (unconditional) goal, for classifier-free guidance"""
    one_step_past_goal: bool = True
    """the original's relabelling quirk: the goal frame is one step past the segment (see DIFFERENCES.md)"""
    skill_segment_goals: bool = False
    """scripted-skill episodes: draw goals within each skill's segment, never across a switch (not in the
    original; episodes without recorded skills are relabelled as usual)"""
    skill_start_steps: int = 0
    """scripted-skill episodes: the first this many steps of each skill segment weigh --skill-start-weight"""
    skill_start_weight: float = 1.0
    """the loss weight of those steps (every other step weighs 1)"""
    # optimisation
    seed: int = 42
    """seeds the data order, the relabelling and the initial weights"""
    batch_size: int = 12
    """sequences per process per micro-step"""
    gradient_accumulation_steps: int = 4
    """micro-steps per optimizer update"""
    learning_rate: float = 4e-5
    """peak AdamW learning rate"""
    weight_decay: float = 0.039428
    """AdamW weight decay"""
    max_grad_norm: float = 5.0
    """gradient clipping norm"""
    n_frames: int = 100_000_000
    """training length in frames (all processes together)"""
    warmup_frames: int = 10_000_000
    """linear learning-rate warm-up, in frames"""
    mixed_precision: str | None = "bf16"
    """bf16, fp16 or no (none: whatever `accelerate launch` says)"""
    # schedule of side jobs (in micro-steps unless named frames)
    log_freq: int = 100
    """log the training loss every this many micro-steps"""
    save_freq: int = 1000
    """write a resume checkpoint every this many micro-steps"""
    val_freq: int | None = 1000
    """validate (and keep the best weights) every this many micro-steps (none: never validate)"""
    val_freq_begin: int = 100
    """the validation interval during the first --val-freq-switch-steps micro-steps"""
    val_freq_switch_steps: int = 500
    """micro-steps with the --val-freq-begin interval"""
    snapshot_every_n_frames: int | None = 50_000_000
    """save a weights snapshot every this many frames (none: no snapshots)"""
    checkpoint_dir: str = "data/training_checkpoint"
    """where resume checkpoints go"""
    keep_checkpoints: int = 2
    """resume checkpoints kept (older ones are deleted)"""
    resume: bool = True
    """continue from <checkpoint_dir>/latest when present (false: refuse to start over an existing one)"""
    # logging
    wandb: bool = False
    """log to Weights & Biases"""
    wandb_project: str = "steve1_finetune"
    """the W&B project"""
    progress_bar: bool = True
    """show a progress bar"""

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        check(self.T % self.trunc_t == 0,
              f"T={self.T} must be a multiple of trunc_t={self.trunc_t} (the chunk length)")
        for name in ("T", "trunc_t", "batch_size", "gradient_accumulation_steps", "n_frames", "log_freq",
                     "save_freq", "val_freq", "val_freq_begin", "snapshot_every_n_frames",
                     "keep_checkpoints", "val_every_nth"):
            value = getattr(self, name)
            check(value is None or value > 0, f"{name} must be > 0, got {value}")
        check(self.warmup_frames >= 0 and self.num_workers >= 0,
              "warmup_frames and num_workers must be >= 0")
        check(self.skill_start_steps >= 0 and self.skill_start_weight >= 0,
              "skill_start_steps and skill_start_weight must be >= 0")
        check(self.mixed_precision in (None, "no", "bf16", "fp16"),
              f"mixed_precision must be bf16, fp16, no or none, got {self.mixed_precision!r}")

    @property
    def chunks_per_sequence(self) -> int:
        return self.T // self.trunc_t


def load_config(name_or_path: str | Path, **overrides) -> TrainConfig:
    """`tiny` / `small` / `paper` (steve1/configs/train_<name>.yaml) or a YAML path; `overrides` win."""
    return settings_from_yaml(TrainConfig, name_or_path, prefix=CONFIG_PREFIX, **overrides)
