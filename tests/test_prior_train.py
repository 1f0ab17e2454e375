"""Prior training: the loss falls, a killed run resumes to the same weights, bad inputs give clear errors."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from steve1.prior import train as train_mod
from steve1.prior.data import PriorDataError, load_prior_data, split_train_val
from steve1.prior.model import PriorWeightsError, TranslatorVAE, load_prior
from steve1.prior.train import PriorTrainConfig, train_prior
from steve1.utils.safe_pickle import UnsafePickleError


def _write_data(path, n=240, seed=0, as_rows=True):
    rng = np.random.default_rng(seed)
    text = rng.standard_normal((n, 512)).astype(np.float32)
    mix = rng.standard_normal((512, 512)).astype(np.float32) / np.sqrt(512)
    visual = np.tanh(text @ mix) + 0.05 * rng.standard_normal((n, 512)).astype(np.float32)
    if as_rows:  # the released layout: lists of (1, 512) arrays
        data = {"text_embeddings": [t[None] for t in text], "visual_embeddings": [v[None] for v in visual]}
    else:
        data = {"text_embeddings": text, "visual_embeddings": visual}
    path.write_bytes(pickle.dumps(data))
    return path


def _cfg(tmp_path, **kw):
    base = dict(data_path=str(tmp_path / "data.pkl"), output_path=str(tmp_path / "out" / "prior.pt"),
                hidden_dim=64, latent_dim=16, batch_size=32, lr=1e-3, n_validation=40, n_epochs=4,
                kl_reduction="batchmean", device="cpu", seed=5)
    base.update(kw)
    return PriorTrainConfig(**base)


def test_loss_falls_and_output_loads(tmp_path):
    _write_data(tmp_path / "data.pkl")
    cfg = _cfg(tmp_path, n_epochs=6)
    state = train_prior(cfg)
    hist = state["history"]
    assert hist[-1]["train_loss"] < 0.7 * hist[0]["train_loss"]
    assert hist[-1]["val_loss"] < hist[0]["val_loss"]
    assert state["best_epoch"] == int(np.argmin([h["val_loss"] for h in hist]))
    model = load_prior(cfg.output_path, hidden_dim=64, latent_dim=16)
    best = state["best_state"]
    assert all(torch.equal(model.state_dict()[k], best[k]) for k in best)
    assert not cfg.resolved_checkpoint().exists()  # removed after a finished run
    assert (tmp_path / "out" / "prior.pt.history.json").exists()


def test_faithful_kl_sum_default_trains(tmp_path):
    _write_data(tmp_path / "data.pkl", as_rows=False)
    state = train_prior(_cfg(tmp_path, kl_reduction="sum", n_epochs=2, hidden_dim=32))
    assert state["history"][-1]["train_loss"] < state["history"][0]["train_loss"]


def test_kill_and_resume_gives_identical_weights(tmp_path, monkeypatch):
    _write_data(tmp_path / "data.pkl")
    ref_cfg = _cfg(tmp_path, output_path=str(tmp_path / "ref" / "prior.pt"))
    train_prior(ref_cfg)
    reference = torch.load(ref_cfg.output_path, weights_only=True)

    cfg = _cfg(tmp_path)
    real, calls = train_mod._epoch_loss, {"n": 0}

    def dies_in_third_epoch(*a, **kw):  # each epoch = one train + one validation pass
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated kill")
        return real(*a, **kw)

    monkeypatch.setattr(train_mod, "_epoch_loss", dies_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        train_prior(cfg)
    assert cfg.resolved_checkpoint().exists() and not (tmp_path / "out" / "prior.pt").exists()
    assert torch.load(cfg.resolved_checkpoint(), weights_only=True)["epoch"] == 2
    monkeypatch.setattr(train_mod, "_epoch_loss", real)
    train_prior(cfg)
    resumed = torch.load(cfg.output_path, weights_only=True)
    for k in reference:
        torch.testing.assert_close(resumed[k], reference[k], atol=0, rtol=0)


def test_resume_refuses_changed_settings(tmp_path, monkeypatch):
    _write_data(tmp_path / "data.pkl")
    cfg = _cfg(tmp_path, n_epochs=2)
    monkeypatch.setattr(train_mod, "_epoch_loss", lambda *a, **kw: (_ for _ in ()).throw(KeyboardInterrupt()))
    ckpt = cfg.resolved_checkpoint()
    ckpt.parent.mkdir(parents=True)
    torch.save({"config": {**vars(cfg), "lr": 0.5}, "data_sha256": "x"}, ckpt)
    with pytest.raises(ValueError, match=r"different settings \['lr'\].*--overwrite"):
        train_prior(cfg)
    ckpt.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="unreadable.*--overwrite"):
        train_prior(cfg)


def test_cli_module_runs(tmp_path):
    _write_data(tmp_path / "data.pkl", n=80)
    out = tmp_path / "new" / "dir" / "p.pt"
    subprocess.run([sys.executable, "-m", "steve1.prior.train", "--data_path", str(tmp_path / "data.pkl"),
                    "--output_path", str(out), "--hidden_dim", "16", "--latent_dim", "8",
                    "--n_validation", "10", "--n_epochs", "1", "--device", "cpu"],
                   check=True, capture_output=True)
    assert load_prior(out, hidden_dim=16, latent_dim=8).latent_dim == 8


def test_config_errors(tmp_path):
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="bf16 needs a CUDA device"):
            train_prior(_cfg(tmp_path, precision="bf16"))
    with pytest.raises(ValueError, match="kl-reduction"):
        train_prior(_cfg(tmp_path, kl_reduction="mean"))


def test_split_is_seeded_and_disjoint():
    a_tr, a_val = split_train_val(100, 20, seed=1)
    b_tr, b_val = split_train_val(100, 20, seed=1)
    assert np.array_equal(a_val, b_val) and len(a_val) == 20
    assert sorted(np.concatenate([a_tr, a_val]).tolist()) == list(range(100))
    with pytest.raises(ValueError, match="n_validation"):
        split_train_val(10, 10, seed=0)


@pytest.mark.parametrize("data, match", [
    ([1, 2], "expected a dict"),
    ({"text_embeddings": [np.zeros(512)]}, r"missing keys \['visual_embeddings'\]"),
    ({"text_embeddings": [np.zeros(512)] * 3, "visual_embeddings": [np.zeros(512)] * 2}, "parallel"),
    ({"text_embeddings": [np.zeros(256)], "visual_embeddings": [np.zeros(256)]}, "shape"),
    ({"text_embeddings": [], "visual_embeddings": []}, "empty"),
    ({"text_embeddings": [np.full(512, np.nan)], "visual_embeddings": [np.zeros(512)]}, "NaN"),
    ({"text_embeddings": "abc", "visual_embeddings": [np.zeros(512)]}, "list of 512-d arrays"),
])
def test_malformed_data_pkl(tmp_path, data, match):
    p = tmp_path / "data.pkl"
    p.write_bytes(pickle.dumps(data))
    with pytest.raises(PriorDataError, match=match):
        load_prior_data(p)


def test_unsafe_or_truncated_data_pkl(tmp_path):
    p = tmp_path / "data.pkl"
    p.write_bytes(pickle.dumps({"text_embeddings": [PriorTrainConfig()]}))
    with pytest.raises(UnsafePickleError, match="PriorTrainConfig"):
        load_prior_data(p)
    p.write_bytes(pickle.dumps({"text_embeddings": [np.zeros(512)]})[:-20])
    with pytest.raises(pickle.UnpicklingError, match="not a readable pickle"):
        load_prior_data(p)
    with pytest.raises(FileNotFoundError, match="--data_path"):
        load_prior_data(tmp_path / "nope.pkl")


def test_load_prior_errors(tmp_path):
    good = TranslatorVAE().state_dict()
    p = tmp_path / "w.pt"
    bad = dict(good)
    del bad["decoder.6.bias"]
    bad["decoder.7.weight"] = torch.zeros(1)
    bad["encoder.0.weight"] = torch.zeros(512, 512)
    torch.save(bad, p)
    with pytest.raises(PriorWeightsError) as e:
        load_prior(p)
    msg = str(e.value)
    assert "missing 1 key(s): decoder.6.bias" in msg and "unexpected 1 key(s): decoder.7.weight" in msg
    assert "encoder.0.weight: file (512, 512) vs model (512, 1024)" in msg
    p.write_bytes(b"not a torch file")
    with pytest.raises(PriorWeightsError, match="not a readable torch weight file"):
        load_prior(p)
    with pytest.raises(FileNotFoundError, match="download_weights"):
        load_prior(tmp_path / "missing.pt")
    torch.save({"_orig_mod." + k: v for k, v in good.items()}, p)  # a torch.compile'd save still loads
    assert not load_prior(p).training
    with pytest.raises(ValueError, match=r"shape \(B, 512\)"):
        load_prior(p).sample(torch.zeros(2, 256))


@pytest.mark.slow
def test_sigkill_and_rerun_gives_identical_weights(tmp_path):
    """A real `kill -9` of the CLI mid-training; re-running the same command resumes to the same weights."""
    import os
    import signal
    import time

    _write_data(tmp_path / "data.pkl", n=200)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def cmd(out):
        return [sys.executable, "-m", "steve1.prior.train", "--data_path", str(tmp_path / "data.pkl"),
                "--output_path", str(out), "--hidden_dim", "32", "--latent_dim", "8", "--batch_size", "16",
                "--n_validation", "20", "--n_epochs", "40", "--device", "cpu", "--kl_reduction", "batchmean"]

    subprocess.run(cmd(tmp_path / "ref.pt"), check=True, capture_output=True, env=env)
    out = tmp_path / "run.pt"
    ckpt = PriorTrainConfig(output_path=str(out)).resolved_checkpoint()
    proc = subprocess.Popen(cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not out.exists()
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    assert 1 <= killed_at < 40
    resumed = subprocess.run(cmd(out), check=True, capture_output=True, text=True, env=env)
    assert f"resuming prior training from {ckpt} after epoch {killed_at}" in resumed.stderr
    ref, got = torch.load(tmp_path / "ref.pt", weights_only=True), torch.load(out, weights_only=True)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], atol=0, rtol=0)


def test_finished_run_is_not_retrained_and_other_settings_refuse(tmp_path, capsys):
    """A finished train-prior is kept (not silently retrained); other settings refuse unless --overwrite."""
    from steve1.utils.run_record import SettingsChanged

    _write_data(tmp_path / "data.pkl")
    cfg = _cfg(tmp_path, n_epochs=2)
    assert train_prior(cfg) is not None
    out = tmp_path / "out" / "prior.pt"
    first = out.read_bytes()
    assert train_prior(cfg) is None and out.read_bytes() == first  # same settings: nothing to do
    with pytest.raises(SettingsChanged, match=r"n_epochs 2 -> 3.*--overwrite"):
        train_prior(_cfg(tmp_path, n_epochs=3))
    assert out.read_bytes() == first
    state = train_prior(_cfg(tmp_path, n_epochs=3, overwrite=True))
    assert len(state["history"]) == 3
    assert train_prior(_cfg(tmp_path, n_epochs=3)) is None  # the new settings are the record now
    argv = ["--data-path", cfg.data_path, "--output-path", str(out), "--hidden-dim", "64",
            "--latent-dim", "16", "--batch-size", "32", "--lr", "1e-3", "--n-validation", "40",
            "--n-epochs", "5",
            "--kl-reduction", "batchmean", "--device", "cpu", "--seed", "5"]
    assert train_mod.main(argv) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, words", [
    (["--data-path", "/nonexistent/data.pkl"], "not found"),
    (["--n-validation", "5000"], "leaves no training pairs"),
    (["--batch-size", "0"], "must be >= 1"),
])
def test_cli_mistakes_are_one_line(tmp_path, capsys, argv, words):
    _write_data(tmp_path / "data.pkl", n=100)
    base = ["--data-path", str(tmp_path / "data.pkl"), "--output-path", str(tmp_path / "o.pt"),
            "--device", "cpu"]
    assert train_mod.main(base + argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert err.startswith("steve1 train-prior: error:")
