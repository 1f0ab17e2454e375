"""The trainer on synthetic episodes with a stand-in policy: accumulation really accumulates, clear errors."""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest
import torch
from torch import nn

from steve1.data.hindsight_synthetic import encoded_actions, synthetic_episodes
from steve1.training import trainer as trainer_module
from steve1.training.config import TrainConfig, load_config
from steve1.training.trainer import Trainer


class Out(NamedTuple):  # a tuple, so DDP can find the output tensors (as the VPT policy's PolicyOutput)
    logp_camera: torch.Tensor
    logp_buttons: torch.Tensor
    state: list


class TinyRecurrentPolicy(nn.Module):
    """Stand-in with the VPT policy's call signature: mean colour + goal -> GRU -> two log-softmax heads."""

    def __init__(self, hid: int = 16):
        super().__init__()
        self.enc = nn.Linear(3, hid)
        self.goal = nn.Linear(512, hid)
        self.rnn = nn.GRU(hid, hid, batch_first=True)
        self.ln = nn.LayerNorm(hid)
        self.camera = nn.Linear(hid, 121)
        self.buttons = nn.Linear(hid, 8641)

    def initial_state(self, batch_size: int):
        return [(None, (torch.zeros(1, batch_size, self.rnn.hidden_size),))]

    def forward(self, img, first, state, goal):
        x = self.enc(img.float().mean(dim=(2, 3)) / 255.0) + self.goal(goal)  # (B, T, H)
        (h0,) = state[0][1]
        h0 = h0 * (~first[:, 0]).float()[None, :, None]  # first=True starts the sequence fresh
        y, h = self.rnn(x, h0)
        y = self.ln(y)
        logp_camera = torch.log_softmax(self.camera(y), -1)
        return Out(logp_camera, torch.log_softmax(self.buttons(y), -1), [(None, (h,))])


@pytest.fixture(autouse=True)
def _plain_weight_files(monkeypatch):
    """The stand-in policy is saved as a plain state dict."""
    def save(model, path):
        from steve1.utils.atomic import atomic_path

        with atomic_path(path) as tmp:
            torch.save(model.state_dict(), tmp)

    monkeypatch.setattr(trainer_module, "save_weights", save)


def tiny_cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(policy="tiny", in_weights=None, out_weights=str(tmp_path / "w" / "out.weights"),
                checkpoint_dir=str(tmp_path / "ckpt"), num_workers=0, T=16, trunc_t=8, batch_size=2,
                gradient_accumulation_steps=1, learning_rate=3e-3, warmup_frames=0, n_frames=2000,
                mixed_precision="no", log_freq=10, save_freq=1000, val_freq=1000, val_freq_begin=1000,
                val_freq_switch_steps=0, snapshot_every_n_frames=None, progress_bar=False, seed=7)
    base.update(kw)
    cfg = TrainConfig(**base)
    cfg.validate()
    return cfg


class GradRecordingTrainer(Trainer):
    """Keeps the accumulated gradients seen by each optimizer update."""

    def optimizer_step(self):
        self.recorded_grads = getattr(self, "recorded_grads", [])
        self.recorded_grads.append([p.grad.clone() for p in self.params])
        super().optimizer_step()


def run(cfg, callbacks=(), n_episodes=4, length=80, trainer_cls=Trainer):
    torch.manual_seed(0)
    trainer = trainer_cls(cfg, train_episodes=synthetic_episodes(n_episodes, length, seed=1),
                      val_episodes=synthetic_episodes(2, length, seed=2),
                      policy_factory=lambda c: TinyRecurrentPolicy(), action_encoder=encoded_actions,
                      step_callbacks=callbacks)
    return trainer, trainer.run()


def test_accumulating_four_micro_batches_equals_one_four_times_larger(tmp_path):
    # T == trunc_t: one chunk per sequence; 4 micro-batches of 2 sequences vs 1 batch of 8, one update each
    common = dict(T=8, trunc_t=8, max_grad_norm=1e9, n_frames=64)
    small, r_small = run(tiny_cfg(tmp_path / "a", batch_size=2, gradient_accumulation_steps=4, **common),
                         trainer_cls=GradRecordingTrainer)
    big, r_big = run(tiny_cfg(tmp_path / "b", batch_size=8, gradient_accumulation_steps=1, **common),
                     trainer_cls=GradRecordingTrainer)
    assert r_small.n_updates == r_big.n_updates == 1 and r_small.n_steps == 4
    assert small.last_grad_norm == pytest.approx(big.last_grad_norm, rel=1e-5)
    assert r_small.train_losses[0] == pytest.approx(r_big.train_losses[0], rel=1e-5)
    for a, b in zip(small.recorded_grads[0], big.recorded_grads[0], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max()))


def test_resume_with_other_settings_is_refused(tmp_path):
    cfg = tiny_cfg(tmp_path, save_freq=2, n_frames=64)
    run(cfg)
    with pytest.raises(ValueError, match="was written by a run with"):
        run(dataclasses.replace(cfg, batch_size=1))
    with pytest.raises(FileExistsError, match="resume is off"):
        run(dataclasses.replace(cfg, resume=False))


def test_bad_settings_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="multiple of trunc_t"):
        tiny_cfg(tmp_path, T=20, trunc_t=8)
    with pytest.raises(ValueError, match="fewer than one batch"):
        run(tiny_cfg(tmp_path, batch_size=64))
    with pytest.raises(ValueError, match="unknown settings"):
        load_config("tiny", not_a_key=1)
