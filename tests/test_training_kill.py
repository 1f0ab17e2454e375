"""A training process killed with SIGKILL in the middle of writing a checkpoint resumes from the previous
complete checkpoint and ends with exactly the weights of an uninterrupted run.

2 chunks per sequence, 3 micro-steps per update, checkpoints every 5 micro-steps: the checkpoint at step 5
falls inside a batch and inside an accumulation window, the kill during the save at step 10 loses steps 6-10,
and validation runs every 7 steps in between."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_training_loop import _plain_weight_files  # noqa: E402, F401  (autouse: plain state-dict files)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KW = dict(T=16, trunc_t=8, gradient_accumulation_steps=3, save_freq=5, n_frames=16 * 2 * 9,
          val_freq_begin=7, val_freq=7, warmup_frames=100)


def _killed_run(out: Path) -> None:
    """Runs in a child process: SIGKILLs itself while writing the second checkpoint (step 10)."""
    torch.set_num_threads(2)  # as tests/conftest.py: bitwise equality needs the same CPU reduction order
    sys.path.insert(0, str(HERE))
    from test_training_loop import run, tiny_cfg

    from steve1.training import checkpoint as ckpt
    from steve1.training import trainer as trainer_module

    save = ckpt.save_torch

    def save_then_die(obj, path):
        save(obj, path)
        if path.parent.name == f".{ckpt.step_dir_name(10)}.partial" and path.name == "optimizer.pt":
            os.kill(os.getpid(), signal.SIGKILL)

    ckpt.save_torch = save_then_die
    trainer_module.save_weights = lambda model, path: torch.save(model.state_dict(), path)
    run(tiny_cfg(out, **KW))


@pytest.mark.slow
def test_sigkill_during_checkpoint_write_then_resume_is_exact(tmp_path):
    from test_training_loop import run, tiny_cfg

    from steve1.training import checkpoint as ckpt

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(Path(__file__)), str(tmp_path / "killed")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    ckpt_dir = tmp_path / "killed" / "ckpt"
    assert ckpt.latest_checkpoint(ckpt_dir).name == ckpt.step_dir_name(5)  # step 10 never completed
    assert ckpt.partial_dir(ckpt_dir, 10).is_dir()

    resumed, result = run(tiny_cfg(tmp_path / "killed", **KW))
    straight, _ = run(tiny_cfg(tmp_path / "straight", **KW))
    assert result.n_steps == 18
    for (name, a), b in zip(straight.policy.state_dict().items(), resumed.policy.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    for a, b in zip(straight.optimizer.state_dict()["state"].values(),
                    resumed.optimizer.state_dict()["state"].values(), strict=True):
        assert torch.equal(a["exp_avg"], b["exp_avg"]) and torch.equal(a["exp_avg_sq"], b["exp_avg_sq"])
    assert not ckpt.partial_dir(ckpt_dir, 10).exists()  # the rewrite of step 10 replaced the leftover


if __name__ == "__main__":
    _killed_run(Path(sys.argv[1]))
