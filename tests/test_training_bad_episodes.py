"""A corrupt episode does not poison training: samplings leave it out, a training run that meets one anyway
skips it (logged, counted, checkpointed) and a run interrupted in the middle resumes to bitwise-equal weights.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_training_loop import TinyRecurrentPolicy, _plain_weight_files, tiny_cfg  # noqa: E402, F401

from steve1.data.episode import EpisodeError, EpisodeWriter  # noqa: E402
from steve1.data.hindsight import HindsightConfig, HindsightDataset  # noqa: E402
from steve1.data.hindsight_synthetic import InMemoryEpisode, encoded_actions, synthetic_episodes  # noqa: E402
from steve1.data.sampling import valid_episodes  # noqa: E402
from steve1.training.trainer import Trainer  # noqa: E402


class CorruptEpisode(InMemoryEpisode):
    """Its video cannot be decoded from frame `bad_from` on (0: not at all), as a damaged frames.mp4."""

    def __init__(self, length: int, seed: int, bad_from: int, name: str):
        super().__init__(length, seed)
        self.bad_from, self.name = bad_from, name

    def frames(self, start: int, end: int) -> np.ndarray:
        if end > self.bad_from:
            raise EpisodeError(f"episode {self.name}: frames.mp4 ends at frame {self.bad_from}")
        return super().frames(start, end)

    def __repr__(self) -> str:
        return self.name


def _episodes():
    eps = synthetic_episodes(6, 80, seed=1)
    eps[2] = CorruptEpisode(80, seed=99, bad_from=0, name="broken_video")
    eps[4] = CorruptEpisode(80, seed=98, bad_from=70, name="truncated_video")  # only its last window fails
    return eps


KW = dict(T=16, trunc_t=8, save_freq=5, n_frames=16 * 24 * 3, val_freq_begin=1000, val_freq=1000)


class Interrupt(Exception):
    pass


def _train(cfg, stop_at: int | None = None) -> Trainer:
    torch.manual_seed(0)

    def stop(trainer):
        if trainer.n_steps == stop_at:
            raise Interrupt

    trainer = Trainer(cfg, train_episodes=_episodes(), val_episodes=synthetic_episodes(2, 80, seed=2),
                      policy_factory=lambda c: TinyRecurrentPolicy(), action_encoder=encoded_actions,
                      step_callbacks=[stop])
    trainer.run()
    return trainer


def test_training_skips_corrupt_episodes_and_resumes_exactly(tmp_path, caplog):
    caplog.set_level("WARNING")
    whole = _train(tiny_cfg(tmp_path / "whole", **KW))
    assert set(whole.bad_episodes) == {2, 4} and whole.replaced_items > 0
    assert "broken_video" in caplog.text and "truncated_video" in caplog.text
    assert '"bad_episodes": 2' in (tmp_path / "whole" / "ckpt" / "metrics.jsonl").read_text()

    cfg = tiny_cfg(tmp_path / "split", **KW)
    with pytest.raises(Interrupt):
        _train(cfg, stop_at=33)  # mid epoch 1; the last checkpoint is at step 30
    resumed = _train(cfg)
    assert resumed.bad_episodes == whole.bad_episodes and resumed.replaced_items == whole.replaced_items
    a, b = whole.policy.state_dict(), resumed.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_dataset_replaces_an_unreadable_window_deterministically():
    ds = HindsightDataset(_episodes(), HindsightConfig(seq_len=16, max_btwn_goals=40),
                          action_encoder=encoded_actions)
    bad_window = int(np.flatnonzero(ds.windows[:, 0] == 2)[0])
    item = ds[bad_window]
    assert item["replaced"] and item["bad_episodes"].tolist()[:2] == [2, -1]
    assert torch.equal(item["img"], ds[bad_window]["img"])
    good = ds[0]
    assert not good["replaced"] and (good["bad_episodes"] == -1).all()
    ds.set_known_bad([2])  # known from an earlier epoch: replaced without reading, nothing reported
    again = ds[bad_window]
    assert again["replaced"] and (again["bad_episodes"] == -1).all()
    assert torch.equal(again["img"], item["img"])


def _write_episode(d: Path, name: str, n: int = 700, embeds=None) -> Path:
    with EpisodeWriter(d, key=name) as w:
        w.add_frames(np.zeros((n, 128, 128, 3), np.uint8))
        w.add_actions([{}] * n)
        present = [None] * 15 + [np.zeros((1, 512), np.float32)] * (n - 15)
        w.add_embeds(embeds if embeds is not None else present)
        return w.finish(name)


def test_sampling_leaves_out_corrupt_episodes(tmp_path, caplog):
    _write_episode(tmp_path, "good")
    truncated = _write_episode(tmp_path, "truncated_video")
    video = truncated / "frames.mp4"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    garbage = _write_episode(tmp_path, "garbage_video")
    (garbage / "frames.mp4").write_bytes(b"\x00" * 4096)
    _write_episode(tmp_path, "no_embeds", embeds=[None] * 700)
    short_actions = _write_episode(tmp_path, "short_actions")
    (short_actions / "actions.pkl").write_bytes((tmp_path / "good" / "actions.pkl").read_bytes()[:50])
    long_len = _write_episode(tmp_path, "len_too_long")
    (long_len / "len.txt").write_text("900")
    found = valid_episodes(tmp_path, T=640)
    assert [Path(p).name for p, _ in found] == ["good"]
    for name in ("truncated_video", "garbage_video", "no_embeds", "short_actions", "len_too_long"):
        assert f"{name}:" in caplog.text


def test_loader_workers_report_bad_episodes_as_the_main_process_does(tmp_path):
    kw = dict(KW, n_frames=16 * 24 * 2)
    inline = _train(tiny_cfg(tmp_path / "inline", **kw))
    workers = _train(tiny_cfg(tmp_path / "workers", **dict(kw, num_workers=1)))
    assert workers.bad_episodes == inline.bad_episodes and workers.replaced_items == inline.replaced_items
    a, b = inline.policy.state_dict(), workers.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
