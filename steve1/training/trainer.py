"""Goal-conditioned fine-tuning of the VPT policy, on one GPU, many GPUs or many nodes through
`accelerate`.

One *micro-step* is one chunk of `trunc_t` steps of a batch of `T`-step sequences; the recurrent state is
carried (detached) from chunk to chunk, and each sequence starts with `first=True`. An optimizer update
happens every `gradient_accumulation_steps` micro-steps.

Differences from the original, all fixes (see DIFFERENCES.md):
- gradients really accumulate over `gradient_accumulation_steps` chunks (the original zeroed them inside the
  accumulation block, so only one chunk in four counted); clipping runs on the accumulated gradient only;
- resuming continues exactly: data position, optimizer, LR schedule, RNG states, the carried recurrent state
  and any partially accumulated gradients are in an atomic checkpoint, written at any micro-step;
- the final weights are written to `out_weights` itself (plus `_latest`, `_best`, `_snapshot_<frames>`), in
  the released key layout (no `policy.` prefix);
- empty loaders and `T % trunc_t != 0` give clear errors; validation is deterministic (fixed goals per run);
- wandb is off unless asked; metrics also go to `<checkpoint_dir>/metrics.jsonl`;
- an episode that cannot be read does not stop training: its items are replaced by the dataset, the episode
  is logged with its path and counted (`bad_episodes`, `replaced_items` in metrics.jsonl and the
  checkpoint), and from the next epoch on it is not read again; resuming stays exact.

Other choices: with accumulation, an update's LR is the schedule at the frame count where its accumulation
window began (the original, whose updates saw only the last chunk, used that chunk's count); a partial window
left at the end of training is applied as a last update; validation uses fixed goals and goal dropout (seeded
per run) so its loss is comparable between evaluations; bitwise-exact resume holds on the same device type
and thread count.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from steve1.data.hindsight import (
    ActionEncoder,
    EpisodeLike,
    HindsightConfig,
    HindsightDataset,
    load_sampling,
    min_episode_length,
)
from steve1.data.hindsight_sampler import ResumableBatchSampler
from steve1.training import checkpoint as ckpt
from steve1.training.config import TrainConfig
from steve1.training.loss import chunk_loss, sequence_chunk_losses
from steve1.training.optim import build_optimizer
from steve1.training.policy_io import build_policy, detach_state, save_weights, tree_map
from steve1.training.schedule import learning_rate
from steve1.utils.atomic import atomic_write_text

StepCallback = Callable[["Trainer"], None]
log = logging.getLogger(__name__)


def weights_path(out_weights: str | Path, tag: str) -> Path:
    """`data/x.weights` + `latest` -> `data/x_latest.weights` (the original's naming)."""
    out = Path(out_weights)
    stem = out.name[: -len(".weights")] if out.name.endswith(".weights") else out.name
    return out.with_name(f"{stem}_{tag}.weights")


@dataclasses.dataclass
class TrainResult:
    n_steps: int
    n_updates: int
    frames: int
    best_val_loss: float
    train_losses: list[float]  # mean loss of each optimizer update
    val_losses: list[tuple[int, float]]  # (n_steps, loss)
    out_weights: Path


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        train_episodes: Sequence[EpisodeLike | str] | None = None,
        val_episodes: Sequence[EpisodeLike | str] | None = None,
        policy_factory: Callable[[TrainConfig], nn.Module] | None = None,
        action_encoder: ActionEncoder | None = None,
        step_callbacks: Sequence[StepCallback] = (),
        accelerator: Any = None,
    ):
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs, set_seed

        cfg.validate()
        self.cfg = cfg
        self.step_callbacks = list(step_callbacks)
        if accelerator is None:
            # Every trainable parameter gets a gradient (the unused value head is frozen below), so DDP
            # need not search the graph for unused ones each step.
            kwargs: dict[str, Any] = {
                "kwargs_handlers": [DistributedDataParallelKwargs(find_unused_parameters=False)]
            }
            if cfg.mixed_precision is not None:
                kwargs["mixed_precision"] = cfg.mixed_precision
            if cfg.wandb:
                _require_wandb()
                kwargs["log_with"] = "wandb"
            accelerator = Accelerator(**kwargs)
        self.acc = accelerator
        set_seed(cfg.seed)

        # data
        if train_episodes is None or val_episodes is None:
            train_paths, val_paths = load_sampling(cfg.sampling_dir, cfg.sampling)
            train_episodes = train_paths if train_episodes is None else train_episodes
            val_episodes = val_paths if val_episodes is None else val_episodes
        hcfg = HindsightConfig(
            seq_len=cfg.T, min_btwn_goals=cfg.min_btwn_goals, max_btwn_goals=cfg.max_btwn_goals,
            p_uncond=cfg.p_uncond, one_step_past_goal=cfg.one_step_past_goal, limit=cfg.data_limit,
            skill_segment_goals=cfg.skill_segment_goals, skill_start_steps=cfg.skill_start_steps,
            skill_start_weight=cfg.skill_start_weight,
        )
        self.train_set = HindsightDataset(train_episodes, hcfg, seed=cfg.seed, action_encoder=action_encoder)
        self.val_set = HindsightDataset(
            val_episodes, dataclasses.replace(hcfg, every_nth=cfg.val_every_nth, limit=None),
            seed=cfg.seed + 1, action_encoder=action_encoder,
        )
        n_proc, rank = self.acc.num_processes, self.acc.process_index
        for what, ds in (("training", self.train_set), ("validation", self.val_set)):
            if len(ds) < cfg.batch_size * n_proc:
                shortest = min_episode_length(cfg.T, cfg.min_btwn_goals)
                raise ValueError(
                    f"the {what} set has {len(ds)} sequences of T={cfg.T} from {len(ds.episode_lengths)} "
                    f"episodes ({ds.skipped_episodes} shorter than {shortest} steps skipped), fewer than "
                    f"one batch of {cfg.batch_size} x {n_proc} processes: add episodes to the sampling, "
                    f"or lower batch_size or T"
                )
        self.train_sampler = ResumableBatchSampler(
            len(self.train_set), cfg.batch_size, cfg.seed, True, rank, n_proc, "training"
        )
        self.val_sampler = ResumableBatchSampler(
            len(self.val_set), cfg.batch_size, cfg.seed, False, rank, n_proc, "validation"
        )

        # model and optimizer
        policy = (policy_factory or _default_policy_factory)(cfg)
        optimizer = build_optimizer(policy, cfg.learning_rate, cfg.weight_decay)
        # The parameters whose gradients are clipped and checkpointed are named before the value head is
        # frozen, so checkpoints keep their layout (its entries are None: it never gets a gradient).
        param_names = [n for n, p in sorted(policy.named_parameters()) if p.requires_grad]
        freeze_unused_heads(policy)
        self.model, self.optimizer = self.acc.prepare(policy, optimizer)
        self.policy = self.acc.unwrap_model(self.model)
        by_name = dict(self.policy.named_parameters())
        self.params = [by_name[n] for n in param_names]

        # counters and carried state
        self.frames_per_step = cfg.trunc_t * cfg.batch_size * n_proc
        self.n_steps = 0
        self.best_val_loss = math.inf
        self.next_snapshot_frames = cfg.snapshot_every_n_frames or math.inf  # None: no snapshots
        self.state: Any = None  # carried recurrent state
        self.train_losses: list[float] = []
        self.val_losses: list[tuple[int, float]] = []
        # Losses stay on the device until they are logged or an update ends (no host sync per micro-step).
        self._update_loss: torch.Tensor | float = 0.0
        self._log_losses: list[torch.Tensor] = []
        self.last_grad_norm = float("nan")
        self.bad_episodes: dict[int, int] = {}  # training episode index -> epoch it was found unreadable
        self.replaced_items = 0  # training items replaced because their episode could not be read
        self._t_log = time.perf_counter()
        self._frames_at_log = 0

        self.checkpoint_dir = Path(cfg.checkpoint_dir)
        if self.acc.is_main_process:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            Path(cfg.out_weights).parent.mkdir(parents=True, exist_ok=True)
        latest = ckpt.latest_checkpoint(self.checkpoint_dir)
        if latest is not None:
            if not cfg.resume:
                raise FileExistsError(
                    f"{self.checkpoint_dir} holds a checkpoint ({latest.name}) and resume is off; resume it "
                    f"(--resume true), or pick another checkpoint_dir, or delete that one to start afresh"
                )
            self.load_checkpoint(latest)
        if cfg.wandb:
            self._init_wandb()

    # ---------------------------------------------------------------------------------------------------
    @property
    def frames(self) -> int:
        return self.n_steps * self.frames_per_step

    @property
    def n_updates(self) -> int:
        return self.n_steps // self.cfg.gradient_accumulation_steps

    def fingerprint(self) -> dict:
        c = self.cfg
        return {"T": c.T, "trunc_t": c.trunc_t, "batch_size": c.batch_size,
                "gradient_accumulation_steps": c.gradient_accumulation_steps,
                "num_processes": self.acc.num_processes, "seed": c.seed,
                "n_train_sequences": len(self.train_set), **self._relabel_options()}

    def _relabel_options(self) -> dict:
        """The skill_* relabelling options that differ from their defaults (so checkpoints of runs without
        them keep resuming)."""
        c, default = self.cfg, TrainConfig.__dataclass_fields__
        names = ("skill_segment_goals", "skill_start_steps", "skill_start_weight")
        return {n: getattr(c, n) for n in names if getattr(c, n) != default[n].default}

    def note_bad_episodes(self, batch: dict, epoch: int, count: bool) -> None:
        """Take the dataset's report out of `batch`; log and remember newly unreadable training episodes.
        `count`: this batch is seen for the first time (not the re-read of a batch a resume began inside)."""
        bad, replaced = batch.pop("bad_episodes"), batch.pop("replaced")
        for i in sorted({int(i) for i in bad.flatten().tolist() if i >= 0}):
            if i not in self.bad_episodes:
                self.bad_episodes[i] = epoch
                log.warning("training episode %s cannot be read: skipped from now on (%d unreadable so far)",
                            self.train_set.episode_name(i), len(self.bad_episodes))
        if count:
            self.replaced_items += int(replaced.sum())

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.acc.device, non_blocking=True) for k, v in batch.items()}

    def _initial_state(self, batch_size: int) -> Any:
        return tree_map(lambda t: t.to(self.acc.device), self.policy.initial_state(batch_size))

    def _loader(self, dataset: HindsightDataset, sampler: ResumableBatchSampler):
        workers = self.cfg.num_workers
        return torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, num_workers=workers, pin_memory=self.acc.device.type == "cuda",
            prefetch_factor=4 if workers > 0 else None, persistent_workers=False,
            generator=torch.Generator().manual_seed(self.cfg.seed),  # leaves the global torch RNG alone
        )

    # ---------------------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.cfg
        cpb = cfg.chunks_per_sequence
        bpe = self.train_sampler.batches_per_epoch
        batches_total = math.ceil(cfg.n_frames / (self.frames_per_step * cpb))
        bar = tqdm(total=batches_total * cpb, initial=self.n_steps, unit="chunk", dynamic_ncols=True,
                   disable=not (cfg.progress_bar and self.acc.is_main_process))
        if self.acc.is_main_process and self.n_steps == 0:
            bar.write(f"training: {len(self.train_set)} train / {len(self.val_set)} val sequences of "
                      f"T={cfg.T}, "
                      f"{self.frames_per_step * cfg.gradient_accumulation_steps} frames per update")
        done = False
        while not done:
            if self.n_steps % cpb == 0 and self.frames >= cfg.n_frames:
                break
            epoch, batch_in_epoch = divmod(self.n_steps // cpb, bpe)
            self.train_sampler.set_position(epoch, batch_in_epoch)
            self.train_set.set_epoch(epoch)
            self.train_set.set_known_bad(i for i, e in self.bad_episodes.items() if e < epoch)
            for batch in self._loader(self.train_set, self.train_sampler):
                if self.n_steps % cpb == 0 and self.frames >= cfg.n_frames:
                    done = True
                    break
                self.note_bad_episodes(batch, epoch, count=self.n_steps % cpb == 0)
                batch = self._to_device(batch)
                for chunk in range(self.n_steps % cpb, cpb):
                    self.micro_step(batch, chunk)
                    bar.update(1)
                    self._after_step(bar)
        if any(p.grad is not None for p in self.params):  # leftover partial accumulation
            self.optimizer_step()
        self.validate_and_keep_best()
        self.save_checkpoint()
        if self.acc.is_main_process:
            save_weights(self.policy, self.cfg.out_weights)
            if self.bad_episodes:
                names = ", ".join(self.train_set.episode_name(i) for i in sorted(self.bad_episodes))
                bar.write(f"skipped {len(self.bad_episodes)} unreadable training episodes "
                          f"({self.replaced_items} sequences replaced): {names}")
            bar.write(f"final weights: {self.cfg.out_weights}")
        bar.close()
        self.acc.wait_for_everyone()
        self.acc.end_training()
        return TrainResult(self.n_steps, self.n_updates, self.frames, self.best_val_loss, self.train_losses,
                           self.val_losses, Path(self.cfg.out_weights))

    def micro_step(self, batch: dict, chunk: int) -> None:
        cfg = self.cfg
        sl = slice(chunk * cfg.trunc_t, (chunk + 1) * cfg.trunc_t)
        if self.state is None:
            self.state = self._initial_state(batch["img"].shape[0])
        accum = cfg.gradient_accumulation_steps
        sync = (self.n_steps + 1) % accum == 0
        no_sync = self.acc.no_sync(self.model) if not sync and self.acc.num_processes > 1 \
            else contextlib.nullcontext()
        with no_sync:
            out = self.model(batch["img"][:, sl], batch["first"][:, sl], self.state, batch["goal"][:, sl])
            loss = chunk_loss(out.logp_buttons, out.logp_camera,
                              batch["buttons"][:, sl], batch["camera"][:, sl], batch["weight"][:, sl])
            self.acc.backward(loss / accum)
        self.state = detach_state(out.state)
        value = loss.detach().float()
        self._update_loss = self._update_loss + value / accum
        self._log_losses.append(value)
        if sync:
            self.optimizer_step()
        self.n_steps += 1

    def optimizer_step(self) -> None:
        """Set the LR, clip the accumulated gradient, step, clear.

        The LR is taken at the frame count where this update's accumulation window began (with no accumulation
        that is the original's `n_steps * frames_per_step` before the step)."""
        cfg = self.cfg
        window_start = (self.n_steps // cfg.gradient_accumulation_steps) * cfg.gradient_accumulation_steps
        lr = learning_rate(window_start * self.frames_per_step, cfg.learning_rate, cfg.warmup_frames,
                           cfg.n_frames)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.lr = lr
        norm = self.acc.clip_grad_norm_(self.params, cfg.max_grad_norm)
        self.last_grad_norm = float(norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.train_losses.append(float(self._update_loss))  # one sync per update, with the norm's above
        self._update_loss = 0.0

    # ---------------------------------------------------------------------------------------------------
    def _after_step(self, bar: tqdm) -> None:
        cfg, n = self.cfg, self.n_steps
        if n % cfg.log_freq == 0:
            self._log(bar)
        val_freq = cfg.val_freq_begin if n - 1 < cfg.val_freq_switch_steps else cfg.val_freq
        if cfg.val_freq is not None and (n - 1) % val_freq == 0:  # val_freq None: no validation
            self.validate_and_keep_best()
        if self.frames >= self.next_snapshot_frames:
            if self.acc.is_main_process:
                save_weights(self.policy, weights_path(cfg.out_weights, f"snapshot_{self.frames}"))
            self.next_snapshot_frames += cfg.snapshot_every_n_frames
        if n % cfg.save_freq == 0:
            self.save_checkpoint()
        for callback in self.step_callbacks:
            callback(self)

    def _log(self, bar: tqdm) -> None:
        now = time.perf_counter()
        fps = (self.frames - self._frames_at_log) / max(now - self._t_log, 1e-9)
        self._t_log, self._frames_at_log = now, self.frames
        loss = float(torch.stack(self._log_losses).mean()) if self._log_losses else 0.0
        self._log_losses = []
        metrics = {"loss": loss, "step": self.n_steps, "processed_frames": self.frames,
                   "epoch":
                       self.n_steps / (self.train_sampler.batches_per_epoch * self.cfg.chunks_per_sequence),
                   "learning_rate": getattr(self, "lr", 0.0), "grad_l2_norm": self.last_grad_norm,
                   "frames_per_s": fps, "bad_episodes": len(self.bad_episodes),
                   "replaced_items": self.replaced_items}
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{metrics['learning_rate']:.2e}")
        self._record(metrics)

    def _record(self, metrics: dict) -> None:
        """Append to `<checkpoint_dir>/metrics.jsonl` (steps redone after a resume appear again) and wandb."""
        if self.acc.is_main_process:
            with open(self.checkpoint_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(metrics) + "\n")
        if self.cfg.wandb:
            self.acc.log(metrics, step=self.n_steps)

    @torch.no_grad()
    def validate(self) -> float:
        cfg = self.cfg
        self.model.eval()
        losses = []
        for batch in self._loader(self.val_set, self.val_sampler):
            del batch["bad_episodes"], batch["replaced"]  # the dataset logs them; validation keeps no state
            batch = self._to_device(batch)
            losses += sequence_chunk_losses(self.model, batch, cfg.trunc_t,
                                            self._initial_state(batch["img"].shape[0]))
        self.model.train()
        return float(self.acc.gather(torch.stack(losses)).mean())

    def validate_and_keep_best(self) -> float:
        loss = self.validate()
        self.val_losses.append((self.n_steps, loss))
        self._record({"val_loss": loss, "step": self.n_steps, "processed_frames": self.frames})
        if loss < self.best_val_loss:
            self.best_val_loss = loss
            if self.acc.is_main_process:
                save_weights(self.policy, weights_path(self.cfg.out_weights, "best"))
                atomic_write_text(
                    weights_path(self.cfg.out_weights, "best").with_suffix(".json"),
                    json.dumps({"best_val_loss": loss, "n_steps": self.n_steps, "frames": self.frames},
                               indent=4),
                )
        return loss

    # ---------------------------------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        acc, n = self.acc, self.n_steps
        partial = ckpt.partial_dir(self.checkpoint_dir, n)
        if acc.is_main_process:
            if partial.exists():
                import shutil

                shutil.rmtree(partial)
            partial.mkdir(parents=True)
        acc.wait_for_everyone()
        if acc.is_main_process:
            ckpt.save_torch(self.policy.state_dict(), partial / "model.pt")
            ckpt.save_torch(self.optimizer.state_dict(), partial / "optimizer.pt")
        trainer_state = {
            "fingerprint": self.fingerprint(),
            "n_steps": n,
            "best_val_loss": self.best_val_loss,
            "next_snapshot_frames": self.next_snapshot_frames,
            "update_loss": float(self._update_loss),
            "bad_episodes": dict(self.bad_episodes),
            "replaced_items": self.replaced_items,
            "rng": ckpt.rng_states(),
            "state": tree_map(lambda t: t.detach().cpu(), self.state),
            "grads": [None if p.grad is None else p.grad.detach().cpu() for p in self.params],
        }
        ckpt.save_torch(trainer_state, partial / f"trainer_rank{acc.process_index}.pt")
        acc.wait_for_everyone()
        if acc.is_main_process:
            ckpt.publish(self.checkpoint_dir, n, self.cfg.keep_checkpoints)
            save_weights(self.policy, weights_path(self.cfg.out_weights, "latest"))
        acc.wait_for_everyone()

    def load_checkpoint(self, path: Path) -> None:
        trainer_state = ckpt.load(path, f"trainer_rank{self.acc.process_index}.pt")
        if trainer_state["fingerprint"] != self.fingerprint():
            raise ValueError(
                f"checkpoint {path} was written by a run with {trainer_state['fingerprint']}, this run has "
                f"{self.fingerprint()}; use the same settings and sampling, or another checkpoint_dir to "
                f"start afresh (unreadable episodes need not be removed from the sampling: training skips "
                f"them and resumes exactly)"
            )
        self.policy.load_state_dict(ckpt.load(path, "model.pt"))
        self.optimizer.load_state_dict(ckpt.load(path, "optimizer.pt"))
        self.n_steps = trainer_state["n_steps"]
        self.best_val_loss = trainer_state["best_val_loss"]
        self.next_snapshot_frames = trainer_state["next_snapshot_frames"]
        self._update_loss = trainer_state["update_loss"]
        self.bad_episodes = dict(trainer_state.get("bad_episodes", {}))
        self.replaced_items = int(trainer_state.get("replaced_items", 0))
        self._frames_at_log = self.frames
        self.state = tree_map(lambda t: t.to(self.acc.device), trainer_state["state"])
        for p, g in zip(self.params, trainer_state["grads"], strict=True):
            p.grad = None if g is None else g.to(device=p.device, dtype=p.dtype)
        ckpt.set_rng_states(trainer_state["rng"])
        if self.acc.is_main_process:
            logging.getLogger("steve1.train").info("resumed from %s at micro-step %d (%d frames)", path,
                                                   self.n_steps, self.frames)

    def _init_wandb(self) -> None:
        id_file = self.checkpoint_dir / "wandb_id.txt"
        if self.acc.is_main_process and not id_file.exists():
            import wandb

            atomic_write_text(id_file, wandb.util.generate_id())
        self.acc.wait_for_everyone()
        run_id = id_file.read_text().strip()
        self.acc.init_trackers(self.cfg.wandb_project, config=dataclasses.asdict(self.cfg),
                               init_kwargs={"wandb": {"resume": "allow", "id": run_id}})


def freeze_unused_heads(policy: nn.Module) -> None:
    """Stop gradients to the value head: the behavioural-cloning loss never reads it. Its parameters keep
    their state-dict keys and optimizer slots (AdamW skips parameters without a gradient, as before)."""
    value_head = getattr(policy, "value_head", None)
    if isinstance(value_head, nn.Module):
        value_head.requires_grad_(False)


def _default_policy_factory(cfg: TrainConfig) -> nn.Module:
    return build_policy(cfg.policy, cfg.in_weights)


def _require_wandb() -> None:
    try:
        import wandb  # noqa: F401
    except ImportError as e:
        raise ImportError("wandb: true needs the wandb package (pip install wandb); "
                          "set WANDB_MODE=offline to log without a network") from e


def train(cfg: TrainConfig, **kwargs) -> TrainResult:
    """Build a `Trainer` (see its arguments) and run it to `cfg.n_frames`."""
    return Trainer(cfg, **kwargs).run()
