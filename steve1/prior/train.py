"""Train the CVAE prior on `data.pkl` (`python -m steve1.prior.train`; `train/4_train_prior.sh`).

Defaults are the original's (steve1.md §7.2): hidden 512, latent 512, batch 256, AdamW lr 1e-4 (weight decay
0.01), 50 epochs, beta 1.0, KL summed over batch and latent dims + per-element MSE, 200 validation pairs, best
validation epoch kept. Differences from the original, all deliberate:
- the split, shuffling and noise are seeded (`--seed`); validation uses the same noise every epoch, so the
  best-epoch choice compares epochs rather than noise draws;
- fp32 by default; `--precision bf16` autocasts on GPU (the original's fp16 autocast had no GradScaler);
- the output directory is created and the file written atomically (the original crashed at its final save);
- a resume checkpoint (model, optimizer, RNG, best so far) is written atomically after every epoch, so a
  killed run continues where it stopped and ends with the same weights as an uninterrupted one;
- `--kl_reduction batchmean` offers the per-sample KL (summed over latent dims, mean over batch);
- no `torch.compile` (the model is three small MLP layers; compile time dominates at this size).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from steve1.prior.data import fingerprint, load_prior_data, split_train_val
from steve1.prior.loss import prior_loss
from steve1.prior.model import MINECLIP_DIM, PRIOR_HIDDEN_DIM, PRIOR_LATENT_DIM, TranslatorVAE
from steve1.utils.atomic import atomic_torch_save, atomic_write_text
from steve1.utils.cli import check_float, check_int, check_writable_file, run_verb

DEFAULT_OUTPUT = Path("data/weights/vae/trained_vae.pt")  # 4_train_prior.sh's --output_path


@dataclass
class PriorTrainConfig:
    data_path: str = "data/prior_dataset/data.pkl"
    output_path: str = str(DEFAULT_OUTPUT)
    hidden_dim: int = PRIOR_HIDDEN_DIM
    latent_dim: int = PRIOR_LATENT_DIM
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 0.01  # torch.optim.AdamW's default, which the original used
    n_validation: int = 200
    n_epochs: int = 50
    beta: float = 1.0
    kl_reduction: str = "sum"  # "sum" (original) | "batchmean"
    seed: int = 0
    device: str = "auto"  # "auto" = cuda if available, else cpu
    precision: str = "fp32"  # "fp32" | "bf16"
    checkpoint_path: str | None = None  # default: <output_path>.resume.pt
    restart: bool = False  # ignore an existing resume checkpoint

    def resolved_checkpoint(self) -> Path:
        return Path(self.checkpoint_path) if self.checkpoint_path else Path(self.output_path + ".resume.pt")

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def validate(self) -> None:
        if self.batch_size < 1 or self.n_epochs < 1:
            raise ValueError(f"batch_size and n_epochs must be >= 1, got {self.batch_size}, {self.n_epochs}")
        check_int(self.hidden_dim, "hidden_dim", minimum=1)
        check_int(self.latent_dim, "latent_dim", minimum=1)
        check_int(self.n_validation, "n_validation", minimum=0)
        check_float(self.lr, "lr", minimum=0, strictly=True)
        check_float(self.weight_decay, "weight_decay", minimum=0)
        check_float(self.beta, "beta", minimum=0)
        if self.kl_reduction not in ("sum", "batchmean"):
            raise ValueError(f"kl_reduction must be 'sum' or 'batchmean', got {self.kl_reduction!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")
        if self.precision == "bf16" and self.resolved_device().type != "cuda":
            raise ValueError("--precision bf16 needs a CUDA device; use the default fp32 on CPU")


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
            raise FloatingPointError(f"{desc}: loss became {loss.item()}; lower --lr or use --kl_reduction "
                                     f"batchmean")
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        total += loss.item()
        n_batches += 1
    return total / max(n_batches, 1)


def train_prior(cfg: PriorTrainConfig) -> dict:
    """Train, checkpointing every epoch; write the best model's state dict to cfg.output_path.

    Returns the final state: history, best_epoch, best_val, best_state."""
    cfg.validate()
    check_writable_file(cfg.output_path, "output_path")
    check_writable_file(cfg.resolved_checkpoint(), "checkpoint_path")
    device = cfg.resolved_device()
    text_np, visual_np = load_prior_data(cfg.data_path)
    data_hash = fingerprint(text_np, visual_np)
    finished = _finished_run(cfg, data_hash)
    if finished is not None:
        print(f"{cfg.output_path} is already trained with these settings and data (best epoch "
              f"{finished['best_epoch']}, val loss {finished['best_val']:.6g}); pass --restart to train it "
              f"again", file=sys.stderr)
        return finished
    train_idx, val_idx = split_train_val(len(text_np), cfg.n_validation, cfg.seed)
    text, visual = torch.from_numpy(text_np), torch.from_numpy(visual_np)  # (N, 512) on CPU

    torch.manual_seed(cfg.seed)  # parameter init
    model = TranslatorVAE(MINECLIP_DIM, cfg.hidden_dim, cfg.latent_dim).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed + 1)  # shuffling and training noise
    state = {"epoch": 0, "best_val": math.inf, "best_epoch": -1, "best_state": None, "history": []}

    ckpt_path = cfg.resolved_checkpoint()
    if ckpt_path.exists() and not cfg.restart:
        try:
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            saved = ckpt["config"]
        except Exception as e:  # a foreign or damaged file (our own writes are atomic)
            raise ValueError(f"resume checkpoint {ckpt_path} is unreadable ({type(e).__name__}); delete it "
                             f"or pass --restart") from None
        changed = [k for k in _RESUME_KEYS if saved.get(k) != getattr(cfg, k)]
        if changed or ckpt["data_sha256"] != data_hash:
            what = f"settings {changed}" if changed else f"data ({cfg.data_path} changed)"
            raise ValueError(f"resume checkpoint {ckpt_path} was written with different {what}; pass "
                             f"--restart to start over or use the original settings")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        generator.set_state(ckpt["generator"])
        state = {k: ckpt[k] for k in state}
        print(f"Resuming prior training from {ckpt_path} after epoch {state['epoch']}", file=sys.stderr)

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

    out = Path(cfg.output_path)
    atomic_torch_save(copy.deepcopy(state["best_state"]), out)
    atomic_write_text(_history_path(out), json.dumps(
        {"best_epoch": state["best_epoch"], "best_val_loss": state["best_val"], "history": state["history"],
         "config": dataclasses.asdict(cfg), "data_sha256": data_hash}, indent=1))
    ckpt_path.unlink(missing_ok=True)
    print(f"Saved best prior (epoch {state['best_epoch']}, val loss {state['best_val']:.6g}) to {out}",
          file=sys.stderr)
    return state


def _history_path(output_path: str | Path) -> Path:
    out = Path(output_path)
    return out.with_name(out.name + ".history.json")


def _finished_run(cfg: PriorTrainConfig, data_hash: str) -> dict | None:
    """The result of an earlier run that finished with the same settings and data (its output and history
    are there), or None. `--restart` always trains again."""
    history = _history_path(cfg.output_path)
    if cfg.restart or not Path(cfg.output_path).is_file() or not history.is_file():
        return None
    try:
        done = json.loads(history.read_text())
        saved = done["config"]
        same = done.get("data_sha256") == data_hash and all(saved.get(k) == getattr(cfg, k)
                                                            for k in _RESUME_KEYS)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not same:
        return None
    return {"epoch": cfg.n_epochs, "best_val": done["best_val_loss"], "best_epoch": done["best_epoch"],
            "best_state": None, "history": done["history"], "already_done": True}


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for f in dataclasses.fields(PriorTrainConfig):
        if f.type in ("bool", bool):
            p.add_argument(f"--{f.name}", action="store_true")
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            p.add_argument(f"--{f.name}", type=kind, default=f.default)
    return p


def parse_args(argv: list[str] | None = None) -> PriorTrainConfig:
    p = add_arguments(argparse.ArgumentParser(description=PROG_DESCRIPTION))
    return PriorTrainConfig(**vars(p.parse_args(argv)))


def run(args: argparse.Namespace) -> int:
    train_prior(PriorTrainConfig(**vars(args)))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb("steve1 train-prior", PROG_DESCRIPTION, add_arguments, run, argv,
                    check=lambda a: PriorTrainConfig(**vars(a)).validate())


if __name__ == "__main__":
    sys.exit(main())
