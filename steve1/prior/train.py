"""Train the CVAE prior on `data.pkl` (`steve1 train-prior`; `train/4_train_prior.sh`).

Defaults are the original's: hidden 512, latent 512, batch 256, AdamW lr 1e-4 (weight decay
0.01), 50 epochs, beta 1.0, KL summed over batch and latent dims + per-element MSE, 200 validation pairs, best
validation epoch kept. Resumable: a resume checkpoint is written atomically after every epoch, so a killed
run ends with the same weights as an uninterrupted one; a finished run is not retrained (the settings that
made it are kept beside it; other settings need --overwrite). Differences from the original (seeded split and
noise, fp32 by default, the output folder created, no torch.compile): DIFFERENCES.md, "Prior".
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from steve1.cli_config import UsageError, check, report, run_verb, settings_field
from steve1.prior.data import fingerprint, load_prior_data, split_train_val
from steve1.prior.loss import prior_loss
from steve1.prior.model import MINECLIP_DIM, PRIOR_HIDDEN_DIM, PRIOR_LATENT_DIM, TranslatorVAE
from steve1.utils.atomic import atomic_torch_save, atomic_write_text
from steve1.utils.checks import check_float, check_int, check_writable_file
from steve1.utils.run_record import check_or_record

log = logging.getLogger("steve1.prior")

DEFAULT_OUTPUT = Path("data/weights/vae/trained_vae.pt")  # 4_train_prior.sh's --output_path


@dataclass
class PriorTrainConfig:
    """Train the CVAE prior (MineCLIP text embedding -> visual embedding) on a data.pkl; resumable."""

    data_path: str = "data/prior_dataset/data.pkl"
    """the (text, visual) embedding pairs (the released data.pkl, or your own)"""
    output_path: str = str(DEFAULT_OUTPUT)
    """where the best model's state dict goes"""
    hidden_dim: int = PRIOR_HIDDEN_DIM
    """hidden layer size"""
    latent_dim: int = PRIOR_LATENT_DIM
    """latent size"""
    batch_size: int = 256
    """pairs per batch"""
    lr: float = 1e-4
    """AdamW learning rate"""
    weight_decay: float = 0.01
    """AdamW weight decay (torch's default, which the original used)"""
    n_validation: int = 200
    """pairs held out for validation (the best validation epoch is kept)"""
    n_epochs: int = 50
    """training epochs"""
    beta: float = 1.0
    """weight of the KL term"""
    kl_reduction: str = settings_field(default="sum", choices=["sum", "batchmean"])
    """sum: over batch and latent dims (the original); batchmean: per sample"""
    seed: int = 0
    """seeds the split, the shuffling, the noise and the initial weights"""
    device: str = "auto"
    """torch device (auto: cuda if available, else cpu)"""
    precision: str = settings_field(default="fp32", choices=["fp32", "bf16"])
    """fp32, or bf16 autocast (CUDA only)"""
    checkpoint_path: str | None = None
    """the per-epoch resume checkpoint (default: <output_path>.resume.pt)"""
    overwrite: bool = settings_field(default=False, alias=["--restart"])
    """start over: ignore a resume checkpoint and replace a finished output made with other settings"""

    def __post_init__(self):
        self.validate()

    def resolved_checkpoint(self) -> Path:
        return Path(self.checkpoint_path) if self.checkpoint_path else Path(self.output_path + ".resume.pt")

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def validate(self) -> None:
        check(self.batch_size >= 1 and self.n_epochs >= 1,
              f"--batch-size and --n-epochs must be >= 1, got {self.batch_size}, {self.n_epochs}")
        check_int(self.hidden_dim, "--hidden-dim", minimum=1)
        check_int(self.latent_dim, "--latent-dim", minimum=1)
        check_float(self.lr, "--lr", minimum=0, strictly=True)
        check_float(self.weight_decay, "--weight-decay", minimum=0)
        check_float(self.beta, "--beta", minimum=0)
        check(self.n_validation >= 0, f"--n-validation must be >= 0, got {self.n_validation}")
        check(self.kl_reduction in ("sum", "batchmean"),
              f"--kl-reduction must be 'sum' or 'batchmean', got {self.kl_reduction!r}")
        check(self.precision in ("fp32", "bf16"),
              f"--precision must be 'fp32' or 'bf16', got {self.precision!r}")
        check(self.precision != "bf16" or self.resolved_device().type == "cuda",
              "--precision bf16 needs a CUDA device; use the default fp32 on CPU")

    def record(self) -> dict:
        """The settings that shape the output (kept next to it, see steve1.utils.run_record)."""
        return {k: getattr(self, k) for k in ("data_path", *_RESUME_KEYS)}


PROG_DESCRIPTION = "Train the STEVE-1 CVAE prior on data.pkl (resumable)."

# Keys that must agree between a resume checkpoint and the current run.
_RESUME_KEYS = ("hidden_dim", "latent_dim", "batch_size", "lr", "weight_decay", "n_validation", "n_epochs",
                "beta", "kl_reduction", "seed", "precision")


def _epoch_loss(model, text, visual, idx, cfg, generator, optimizer=None, desc="") -> float:
    """One pass over `idx` in batches; trains when an optimizer is given. Returns the mean batch loss."""
    device = next(model.parameters()).device
    total, n_batches = 0.0, 0
    batches = [idx[i: i + cfg.batch_size] for i in range(0, len(idx), cfg.batch_size)]
    for b in tqdm(batches, desc=desc, leave=False, disable=None):
        t, v = text[b].to(device), visual[b].to(device)  # (b, D)
        # noise from the CPU generator: the same on any device
        eps = torch.randn((len(b), model.latent_dim), generator=generator).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"):
            terms = prior_loss(model, t, v, beta=cfg.beta, kl_reduction=cfg.kl_reduction, eps=eps)
        loss = terms["loss"].float()
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{desc}: loss became {loss.item()}; lower --lr or use --kl-reduction "
                                     f"batchmean")
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        total += loss.item()
        n_batches += 1
    return total / max(n_batches, 1)


def record_name(out: Path) -> str:
    return out.name + ".settings.json"


def train_prior(cfg: PriorTrainConfig) -> dict | None:
    """Train, checkpointing every epoch; write the best model's state dict to cfg.output_path.

    Returns the final state (history, best_epoch, best_val, best_state), or None when cfg.output_path was
    already made with these settings. Raises SettingsChanged when it was made with others (unless
    cfg.overwrite)."""
    cfg.validate()
    check_writable_file(cfg.output_path, "output_path")
    check_writable_file(cfg.resolved_checkpoint(), "checkpoint_path")
    device = cfg.resolved_device()
    out = Path(cfg.output_path)
    if not Path(cfg.data_path).is_file():
        raise FileNotFoundError(f"{cfg.data_path} not found: the prior trains on a data.pkl of (text, "
                                f"visual) MineCLIP embedding pairs (./download_weights.sh train fetches the "
                                f"released one)")
    text_np, visual_np = load_prior_data(cfg.data_path)
    check(cfg.n_validation < len(text_np), f"--n-validation {cfg.n_validation} leaves no training pairs: "
          f"{cfg.data_path} holds {len(text_np)}")
    data_hash = fingerprint(text_np, visual_np)
    settings = {**cfg.record(), "data_sha256": data_hash}
    if out.is_file():
        same = check_or_record(out.parent, settings, redo_flag="--overwrite", redo=cfg.overwrite,
                               name=record_name(out))
        if same:
            log.info("%s is already trained with these settings (pass --overwrite to train again)", out)
            return None
    train_idx, val_idx = split_train_val(len(text_np), cfg.n_validation, cfg.seed)
    text, visual = torch.from_numpy(text_np), torch.from_numpy(visual_np)  # (N, 512) on CPU

    torch.manual_seed(cfg.seed)  # parameter init
    model = TranslatorVAE(MINECLIP_DIM, cfg.hidden_dim, cfg.latent_dim).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed + 1)  # shuffling and training noise
    state = {"epoch": 0, "best_val": math.inf, "best_epoch": -1, "best_state": None, "history": []}

    ckpt_path = cfg.resolved_checkpoint()
    if ckpt_path.exists() and not cfg.overwrite:
        try:
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            saved = ckpt["config"]
        except Exception as e:  # a foreign or damaged file (our own writes are atomic)
            raise UsageError(f"resume checkpoint {ckpt_path} is unreadable ({type(e).__name__}); delete it "
                             f"or pass --overwrite") from None
        changed = [k for k in _RESUME_KEYS if saved.get(k) != getattr(cfg, k)]
        if changed or ckpt["data_sha256"] != data_hash:
            what = f"settings {changed}" if changed else f"data ({cfg.data_path} changed)"
            raise UsageError(f"resume checkpoint {ckpt_path} was written with different {what}; pass "
                             f"--overwrite to start over or use the original settings")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        generator.set_state(ckpt["generator"])
        state = {k: ckpt[k] for k in state}
        log.info("resuming prior training from %s after epoch %d", ckpt_path, state["epoch"])

    val_seed = cfg.seed + 2
    for epoch in tqdm(range(state["epoch"], cfg.n_epochs), desc="prior epochs", initial=state["epoch"],
                      total=cfg.n_epochs, disable=None):
        model.train()
        order = torch.from_numpy(train_idx)[torch.randperm(len(train_idx), generator=generator)]
        train_loss = _epoch_loss(model, text, visual, order, cfg, generator, optimizer, desc=f"train {epoch}")
        model.eval()
        with torch.no_grad():
            val_gen = torch.Generator().manual_seed(val_seed)  # same validation noise every epoch
            val_loss = (_epoch_loss(model, text, visual, torch.from_numpy(val_idx), cfg, val_gen,
                                    desc=f"val {epoch}") if len(val_idx) else train_loss)
        state["history"].append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
        if val_loss < state["best_val"]:
            state.update(best_val=val_loss, best_epoch=epoch,
                         best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        state["epoch"] = epoch + 1
        ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(), "config": dataclasses.asdict(cfg),
                "data_sha256": data_hash, **state}
        atomic_torch_save(ckpt, ckpt_path)

    atomic_torch_save(copy.deepcopy(state["best_state"]), out)
    atomic_write_text(out.with_name(out.name + ".history.json"), json.dumps(
        {"best_epoch": state["best_epoch"], "best_val_loss": state["best_val"], "history": state["history"],
         "config": dataclasses.asdict(cfg)}, indent=1))
    check_or_record(out.parent, settings, redo=True, name=record_name(out))
    ckpt_path.unlink(missing_ok=True)
    log.info("saved the best prior (epoch %d, val loss %.6g) to %s", state["best_epoch"], state["best_val"],
             out)
    return state


def run(cfg: PriorTrainConfig) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    state = train_prior(cfg)
    if state is None:
        report(f"{cfg.output_path} is already trained with these settings; pass --overwrite to train again")
    else:
        report(f"prior: best epoch {state['best_epoch']}, val loss {state['best_val']:.6g} -> "
               f"{cfg.output_path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(PriorTrainConfig, run, argv, verb="train-prior", config_prefix="prior")


if __name__ == "__main__":
    sys.exit(main())
