"""Identical weights give byte-identical files, whatever the file is called (torch.save to a path stores the
(temporary) file name inside the archive)."""
import hashlib

import torch
from torch import nn

from steve1.training import checkpoint as ckpt
from steve1.utils.atomic import atomic_torch_save
from steve1.vpt.weights import save_policy_weights


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_policy_weights_checkpoints_and_plain_saves_are_byte_identical(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3))
    save_policy_weights(model, tmp_path / "a.weights")
    save_policy_weights(model, tmp_path / "sub" / "b.weights")
    assert _sha(tmp_path / "a.weights") == _sha(tmp_path / "sub" / "b.weights")
    ckpt.save_torch({"model": model.state_dict(), "n": 3}, tmp_path / "m1.pt")
    ckpt.save_torch({"model": model.state_dict(), "n": 3}, tmp_path / "m2.pt")
    assert _sha(tmp_path / "m1.pt") == _sha(tmp_path / "m2.pt")
    atomic_torch_save(model.state_dict(), tmp_path / "x.pt")
    assert torch.load(tmp_path / "x.pt", weights_only=True).keys() == model.state_dict().keys()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_prior_training_output_is_byte_identical_across_runs(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_prior_train import _cfg, _write_data

    from steve1.prior.train import train_prior

    _write_data(tmp_path / "data.pkl", n=120)
    a = _cfg(tmp_path, n_epochs=1, n_validation=20, output_path=str(tmp_path / "a" / "prior.pt"))
    b = _cfg(tmp_path, n_epochs=1, n_validation=20, output_path=str(tmp_path / "b" / "other.pt"))
    train_prior(a)
    train_prior(b)
    assert _sha(tmp_path / "a" / "prior.pt") == _sha(tmp_path / "b" / "other.pt")
