"""Two processes through `accelerate launch` (CPU, gloo) train the same weights as one process with a batch
twice as large: the data is sharded, DDP averages the gradients, and checkpoints are written per rank."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _train(out: Path, batch_size: int) -> None:
    """Runs in every launched process."""
    sys.path.insert(0, str(HERE))
    from test_training_loop import TinyRecurrentPolicy, tiny_cfg

    from steve1.data.hindsight_synthetic import encoded_actions, synthetic_episodes
    from steve1.training import trainer as trainer_module
    from steve1.training.trainer import Trainer

    def save(model, path):
        torch.save(model.state_dict(), path)

    trainer_module.save_weights = save
    torch.manual_seed(0)
    cfg = tiny_cfg(out, batch_size=batch_size, n_frames=8 * 4 * 6, gradient_accumulation_steps=2, save_freq=3,
                   val_freq_begin=4, val_freq=4)
    trainer = Trainer(cfg, train_episodes=synthetic_episodes(4, 80, seed=1),
                      val_episodes=synthetic_episodes(2, 80, seed=2),
                      policy_factory=lambda c: TinyRecurrentPolicy(), action_encoder=encoded_actions)
    result = trainer.run()
    if trainer.acc.is_main_process:
        (out / "result.json").write_text(json.dumps({"n_steps": result.n_steps, "val": result.val_losses,
                                                     "num_processes": trainer.acc.num_processes}))


def _launch(out: Path, num_processes: int, batch_size: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), ACCELERATE_USE_CPU="true")
    # without GPUs, --multi_gpu starts torchrun workers that fall back to CPU + gloo
    multi = ["--multi_gpu"] if num_processes > 1 else ["--cpu"]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *multi, "--num_processes", str(num_processes),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
           str(29500 + num_processes + os.getpid() % 1000),
           str(Path(__file__)), str(out), str(batch_size)]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "result.json").read_text())


@pytest.mark.slow
def test_two_processes_equal_one_with_double_batch(tmp_path):
    two = _launch(tmp_path / "two", 2, 2)
    one = _launch(tmp_path / "one", 1, 4)
    assert two["num_processes"] == 2 and one["num_processes"] == 1
    assert two["n_steps"] == one["n_steps"] == 6
    w2 = torch.load(tmp_path / "two" / "w" / "out.weights", weights_only=True)
    w1 = torch.load(tmp_path / "one" / "w" / "out.weights", weights_only=True)
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=1e-4, atol=1e-5, msg=name)
    for (s2, v2), (s1, v1) in zip(two["val"], one["val"], strict=True):
        assert s2 == s1 and v2 == pytest.approx(v1, rel=1e-4)
    latest = (tmp_path / "two" / "ckpt" / "latest").read_text().strip()
    assert {p.name for p in (tmp_path / "two" / "ckpt" / latest).iterdir()} == {
        "model.pt", "optimizer.pt", "trainer_rank0.pt", "trainer_rank1.pt"}


if __name__ == "__main__":
    _train(Path(sys.argv[1]), int(sys.argv[2]))
