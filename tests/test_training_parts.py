"""Training components: LR schedule, optimizer groups, loss, checkpoint files, config and CLI."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

import steve1
from steve1.cli_config import packaged_config_names, parse_settings
from steve1.training import checkpoint as ckpt
from steve1.training.config import CONFIG_PREFIX, CONFIGS_DIR, TrainConfig, load_config
from steve1.training.loss import chunk_loss
from steve1.training.optim import build_optimizer, parameter_groups
from steve1.training.policy_io import detach_state, tree_map
from steve1.training.schedule import learning_rate
from steve1.training.trainer import weights_path


def test_schedule_is_the_originals():
    lr, warm, n = 4e-5, 10_000_000, 100_000_000
    assert learning_rate(0, lr, warm, n) == 0.0
    assert learning_rate(warm // 2, lr, warm, n) == pytest.approx(lr / 2)
    assert learning_rate(warm, lr, warm, n) == pytest.approx(lr)
    r = (n - warm) / (1.1 * n - warm)
    assert learning_rate(n, lr, warm, n) == pytest.approx(0.5 * (1 + math.cos(math.pi * r)) * lr)
    assert learning_rate(n, lr, warm, n) == pytest.approx(9.8e-7, rel=0.01)  # the original's first-step rate
    assert learning_rate(int(1.1 * n) + 1, lr, warm, n) == 0.0
    values = [learning_rate(f, lr, warm, n) for f in range(warm, n, 1_000_000)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 4)
        self.conv = nn.Conv2d(3, 4, 3)
        self.gn = nn.GroupNorm(2, 4)
        self.ln = nn.LayerNorm(4)
        self.lin = nn.Linear(4, 4)
        self.raw = nn.Parameter(torch.ones(3))


def test_optimizer_groups_follow_the_original_rule():
    decay, no_decay = parameter_groups(Net(), 0.039428)
    assert decay["names"] == ["conv.weight", "gn.weight", "lin.weight", "raw"]
    assert no_decay["names"] == ["conv.bias", "emb.weight", "gn.bias", "lin.bias", "ln.bias", "ln.weight"]
    assert decay["weight_decay"] == 0.039428 and no_decay["weight_decay"] == 0.0
    opt = build_optimizer(Net(), 4e-5, 0.039428)
    assert isinstance(opt, torch.optim.AdamW)
    assert opt.defaults["betas"] == (0.9, 0.999) and opt.defaults["eps"] == 1e-8
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(Net().parameters()))


def test_loss_is_minus_mean_over_batch_of_sum_over_time():
    torch.manual_seed(1)
    lb = torch.log_softmax(torch.randn(3, 5, 8641), -1)
    lc = torch.log_softmax(torch.randn(3, 5, 121), -1)
    b = torch.randint(0, 8641, (3, 5))
    c = torch.randint(0, 121, (3, 5))
    manual = 0.0
    for i in range(3):
        manual -= sum(float(lb[i, t, b[i, t]] + lc[i, t, c[i, t]]) for t in range(5)) / 3
    assert float(chunk_loss(lb, lc, b, c)) == pytest.approx(manual, rel=1e-5)
    with pytest.raises(ValueError, match="shape mismatch"):
        chunk_loss(lb, lc, b[:, :4], c)


def test_state_helpers_keep_structure():
    x = torch.ones(2, requires_grad=True) * 2
    state = [(None, (x, x + 1)), (torch.ones(1, dtype=torch.bool), (x, x))]
    out = detach_state(state)
    assert out[0][0] is None and isinstance(out[1][1], tuple)
    assert not out[0][1][0].requires_grad
    assert tree_map(lambda t: t * 0, {"a": [x]})["a"][0].sum() == 0


def test_checkpoint_publish_is_atomic_and_pruned(tmp_path):
    assert ckpt.latest_checkpoint(tmp_path) is None
    for n in (5, 10, 15):
        part = ckpt.partial_dir(tmp_path, n)
        part.mkdir()
        ckpt.save_torch({"n": n}, part / "model.pt")
        ckpt.publish(tmp_path, n, keep=2)
    latest = ckpt.latest_checkpoint(tmp_path)
    assert latest.name == ckpt.step_dir_name(15)
    assert sorted(p.name for p in tmp_path.glob("step_*")) == [ckpt.step_dir_name(10), ckpt.step_dir_name(15)]
    ckpt.partial_dir(tmp_path, 20).mkdir()  # a killed save leaves only a hidden partial dir
    assert ckpt.latest_checkpoint(tmp_path).name == ckpt.step_dir_name(15)
    with pytest.raises(FileNotFoundError, match="checkpoint file"):
        ckpt.load(latest, "optimizer.pt")
    (latest / "model.pt").unlink()
    with pytest.raises(FileNotFoundError, match="incomplete"):
        ckpt.latest_checkpoint(tmp_path)


def test_rng_states_round_trip():
    import random

    import numpy as np

    states = ckpt.rng_states()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    ckpt.set_rng_states(states)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_configs_are_packaged_data():
    """The named configs ship inside the package (a non-editable install still finds --config paper)."""
    assert CONFIGS_DIR.parent == Path(steve1.__file__).parent
    assert {"paper", "small", "tiny"} <= set(packaged_config_names(CONFIG_PREFIX))


def test_configs_load_and_paper_values():
    for name in ("tiny", "small", "paper"):
        assert (CONFIGS_DIR / f"train_{name}.yaml").is_file()
        load_config(name)
    paper = load_config("paper")
    assert (paper.T, paper.trunc_t, paper.batch_size, paper.gradient_accumulation_steps) == (640, 64, 12, 4)
    assert (paper.learning_rate, paper.weight_decay, paper.n_frames) == (4e-5, 0.039428, 100_000_000)
    assert (paper.min_btwn_goals, paper.max_btwn_goals, paper.p_uncond) == (15, 200, 0.1)
    assert paper.mixed_precision == "bf16" and paper.wandb is False


def test_cli_overrides():
    cfg = parse_settings(TrainConfig, ["--config", "tiny", "--batch_size", "3", "--in_weights", "none",
                                       "--wandb", "true", "--learning-rate", "1e-4"], "train",
                         config_prefix=CONFIG_PREFIX)
    assert (cfg.batch_size, cfg.in_weights, cfg.wandb, cfg.learning_rate) == (3, None, True, 1e-4)
    with pytest.raises(ValueError, match="batch_size='x' is not a valid int"):
        load_config("tiny", batch_size="x")
    with pytest.raises(ValueError, match="wandb='maybe'"):
        load_config("tiny", wandb="maybe")


def test_weight_file_names():
    assert weights_path("data/w/x.weights", "best").as_posix() == "data/w/x_best.weights"
    assert weights_path("x", "snapshot_100").as_posix() == "x_snapshot_100.weights"


def test_train_script_is_valid_bash():
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "train" / "3_train.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    assert "accelerate launch" in script.read_text()


def test_wandb_is_optional_with_a_clear_error(monkeypatch):
    import sys

    from steve1.training.trainer import _require_wandb

    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install wandb.*WANDB_MODE=offline"):
        _require_wandb()
    assert load_config("paper").wandb is False and load_config("tiny").wandb is False
