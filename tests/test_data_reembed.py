"""`steve1 embed`: embeddings recomputed in place with another MineCLIP, resumable, the model recorded."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.data import reembed as reembed_mod
from steve1.data.episode import Episode, EpisodeWriter
from steve1.data.reembed import EmbedSettings, read_record, reembed
from steve1.mineclip import MineClipEmbedder, random_mineclip
from steve1.mineclip.checkpoint import save_mineclip


@pytest.fixture()
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("e1", "e2"):
        w = EpisodeWriter(tmp_path / "eps")
        for t in range(20):
            embed = None if t < 15 else np.zeros((1, 512), np.float32)
            w.append(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8), {"camera": np.zeros(2)}, embed)
        w.finish(name, {"seed": 0})
    return tmp_path / "eps"


def _settings(dataset, mineclip) -> EmbedSettings:
    return EmbedSettings(episodes=str(dataset), mineclip=str(mineclip), device="cpu", batch_size=8)


def test_reembed_in_place_and_skip_done_episodes(dataset, tmp_path):
    model = random_mineclip("tiny", seed=7)
    path = save_mineclip(model, tmp_path / "ours.pth")
    summary = reembed(_settings(dataset, path))
    assert summary["embedded"] == 2 and summary["skipped"] == 0
    want = MineClipEmbedder(model).embed_episode_dir(dataset / "e1")
    got = Episode(dataset / "e1").embeds()
    assert len(got) == 20 and got[:15] == [None] * 15
    np.testing.assert_allclose(got[19], want[19], rtol=1e-5, atol=1e-6)
    assert not np.allclose(got[19], 0)
    assert read_record(dataset / "e1")["model_id"] == summary["model_id"]
    assert reembed(_settings(dataset, path))["embedded"] == 0  # same model: nothing to do
    assert reembed(_settings(dataset, "tiny"))["embedded"] == 2  # another model: both redone


def test_interrupted_run_resumes_with_the_rest(dataset, monkeypatch):
    real = reembed_mod.reembed_episode
    done = []

    def once_then_fail(embedder, episode_dir, record):
        if done:
            raise KeyboardInterrupt
        done.append(episode_dir)
        return real(embedder, episode_dir, record)

    monkeypatch.setattr(reembed_mod, "reembed_episode", once_then_fail)
    with pytest.raises(KeyboardInterrupt):
        reembed(_settings(dataset, "tiny"))
    monkeypatch.setattr(reembed_mod, "reembed_episode", real)
    summary = reembed(_settings(dataset, "tiny"))
    assert summary["embedded"] == 1 and summary["skipped"] == 1
    for name in ("e1", "e2"):
        assert len(Episode(dataset / name, deep=True).embeds()) == 20


def test_cli_reports_a_missing_folder(tmp_path, capsys):
    assert reembed_mod.main(["--episodes", str(tmp_path / "none"), "--mineclip", "tiny"]) == 2
    assert "not found" in capsys.readouterr().err
