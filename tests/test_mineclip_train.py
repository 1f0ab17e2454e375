"""Training a MineCLIP of our own: loss goes down, checkpoints round-trip, resume, one --mineclip flag."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from steve1.cli_config import UsageError
from steve1.data.captions import EVENTS
from steve1.data.embedding import embed_fn_for
from steve1.data.episode import find_episode_dirs
from steve1.mineclip import MineClipEmbedder, load_mineclip, random_mineclip
from steve1.mineclip import train as train_mod
from steve1.mineclip.checkpoint import resolve_mineclip, save_mineclip, sidecar_path
from steve1.mineclip.synthetic import write_synthetic_episode
from steve1.mineclip.tokenizer import tokenize
from steve1.mineclip.train import (
    CaptionedClips,
    TrainMineClipSettings,
    add_word_noise,
    contrastive_loss,
    drop_words,
    encode_video_grad_subset,
    train_mineclip,
)
from steve1.utils.checksum import ChecksumError


@pytest.fixture(scope="module")
def episodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    write_synthetic_episode(root, "a", ["chop_tree", "swim", None, "look_at_sky"], seed=1)
    write_synthetic_episode(root, "b", ["look_at_sky", "chop_tree", "swim"], seed=2)
    return root


def _settings(episodes, out, **kw) -> TrainMineClipSettings:
    base = dict(episodes=str(episodes), out=str(out), size="tiny", steps=6, batch_size=6, lr=5e-4,
                warmup_steps=0, save_every=2, log_every=2, seed=0, device="cpu")
    return TrainMineClipSettings(**{**base, **kw})


def _fixed_batch_loss(model, clips: CaptionedClips) -> float:
    idx, events, texts = clips.sample(np.random.default_rng(123), 8)
    with torch.no_grad():
        v = model.encode_video(clips.video_batch(idx))
        t = model.encode_text(tokenize(texts))
        return float(contrastive_loss(v, t, events, model.clip_model.logit_scale))


def test_captioned_clips_hold_the_crafted_events(episodes):
    clips = CaptionedClips(find_episode_dirs(str(episodes)))
    assert clips.counts() == {"chop_tree": 2, "look_at_sky": 4, "swim": 4}
    assert clips.video_batch([0, 1]).shape == (2, 16, 3, 160, 256)


def test_training_lowers_the_contrastive_loss_and_round_trips(episodes, tmp_path):
    out = tmp_path / "ours.pth"
    summary = train_mineclip(_settings(episodes, out))
    assert summary["steps"] == 6
    clips = CaptionedClips(find_episode_dirs(str(episodes)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        initial = train_mod.MineCLIP("tiny").eval()
    trained = load_mineclip(out)  # no config, no md5 flag: the sidecar says it is ours, and its sizes
    assert trained.config == initial.config
    assert _fixed_batch_loss(trained, clips) < _fixed_batch_loss(initial, clips) - 0.05
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["config_name"] == "tiny" and meta["trained"]["steps"] == 6


def test_float16_save_halves_the_file_and_loads_back_to_the_weights_it_saved(episodes, tmp_path):
    """save_dtype float16 (what ships): the file holds float16, and loading it gives exactly the rounded
    weights, so data embedded with the loaded file matches what users of the shipped file compute."""
    full = tmp_path / "full.pth"
    train_mineclip(_settings(episodes, full, steps=2))
    half = tmp_path / "half.pth"
    train_mineclip(_settings(episodes, half, steps=2, save_dtype="float16"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    a, b = load_mineclip(full).state_dict(), load_mineclip(half).state_dict()
    for k in a:  # the same training; b is a rounded to float16 values
        assert b[k].dtype == torch.float32
        torch.testing.assert_close(b[k], a[k].half().float(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="save_dtype"):
        _settings(episodes, half, save_dtype="int8")


def test_checkpoint_of_ours_round_trips_and_is_told_apart(tmp_path):
    model = random_mineclip("tiny", seed=3)
    path = save_mineclip(model, tmp_path / "m.pth")
    loaded, desc = resolve_mineclip(str(path))
    assert "ours" in desc
    frames = torch.randint(0, 255, (2, 16, 3, 160, 256), dtype=torch.uint8)
    ids = tokenize(["chop a tree", "look up"])
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_video(frames), model.encode_video(frames), rtol=0, atol=0)
        torch.testing.assert_close(loaded.encode_text(ids), model.encode_text(ids), rtol=0, atol=0)
    state = torch.load(path, weights_only=True)["state_dict"]
    # attn.pth's layout: every key of the module (tied copies included; 788 at attn size), prefixed
    assert sorted(state) == sorted("model." + k for k in model.state_dict())
    with pytest.raises(ValueError, match="not reduced|config tiny"):
        load_mineclip(path, "reduced")
    with pytest.raises(ValueError, match="not the released attn.pth"):
        resolve_mineclip("attn", released_weights=path)  # never taken for the released file
    sidecar_path(path).unlink()  # without its sidecar it is taken for the released file: md5 refuses
    with pytest.raises(ChecksumError, match="train-mineclip"):
        load_mineclip(path)


def test_resume_after_interruption_gives_the_same_weights(episodes, tmp_path, monkeypatch):
    train_mineclip(_settings(episodes, tmp_path / "straight.pth", steps=4))
    calls = {"n": 0}
    real_loss = train_mod.contrastive_loss

    def failing_loss(*args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_loss(*args)

    monkeypatch.setattr(train_mod, "contrastive_loss", failing_loss)
    with pytest.raises(KeyboardInterrupt):
        train_mineclip(_settings(episodes, tmp_path / "resumed.pth", steps=4))
    assert not (tmp_path / "resumed.pth").exists()
    monkeypatch.setattr(train_mod, "contrastive_loss", real_loss)
    summary = train_mineclip(_settings(episodes, tmp_path / "resumed.pth", steps=4))
    assert summary["resumed"] and summary["steps"] == 4
    a = load_mineclip(tmp_path / "straight.pth").state_dict()
    b = load_mineclip(tmp_path / "resumed.pth").state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    with pytest.raises(UsageError, match="other settings.*lr"):
        train_mineclip(_settings(episodes, tmp_path / "resumed.pth", steps=4, lr=1e-3))
    again = train_mineclip(_settings(episodes, tmp_path / "resumed.pth", steps=4))  # done: nothing to do
    assert again["resumed"] and again["steps"] == 4


def test_one_flag_reaches_the_data_tools(tmp_path):
    model = random_mineclip("tiny", seed=5)
    path = save_mineclip(model, tmp_path / "m.pth")
    frames = np.random.default_rng(0).integers(0, 255, (17, 128, 128, 3), dtype=np.uint8)
    got = embed_fn_for(str(path), device="cpu")(frames)
    want = MineClipEmbedder(model).embed_frames(frames)
    assert got[:15] == [None] * 15
    np.testing.assert_allclose(got[16], want[16], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unknown mineclip config"):
        embed_fn_for(str(tmp_path / "missing.pth"))


def test_gradients_through_a_frame_subset_leave_the_forward_pass_unchanged():
    model = random_mineclip("tiny", seed=1).train()
    video = torch.randint(0, 255, (3, 16, 3, 160, 256), dtype=torch.uint8)
    full = model.encode_video(video)
    part = encode_video_grad_subset(model, video, 4, np.random.default_rng(0))
    torch.testing.assert_close(part, full, rtol=0, atol=1e-6)
    part.square().sum().backward()
    grad = model.image_encoder.conv1.weight.grad
    assert grad is not None and grad.abs().sum() > 0  # the image tower still learns


def test_word_noise_inserts_no_caption_word():
    rng = np.random.default_rng(0)
    texts = ["look up", "chop a tree"] * 50
    assert add_word_noise(texts, 0.0, rng) == texts
    noisy = add_word_noise(texts, 1.0, rng)
    caption_words = {w for e in EVENTS.values() for p in e.train_phrasings + e.heldout_phrasings
                     for w in p.split()}
    for before, after in zip(texts, noisy, strict=True):
        extra = list(after.split())
        for w in before.split():
            extra.remove(w)  # the original words are all still there, in order
        assert len(extra) == 1 and extra[0] not in caption_words


def test_word_dropout_keeps_order_and_one_word():
    rng = np.random.default_rng(0)
    texts = ["look up at the sky", "swim"] * 200
    assert drop_words(texts, 0.0, rng) == texts
    dropped = drop_words(texts, 0.5, rng)
    shorter = 0
    for before, after in zip(texts, dropped, strict=True):
        words, kept = before.split(), after.split()
        assert 1 <= len(kept) <= len(words)
        it = iter(words)
        assert all(w in it for w in kept)  # a subsequence: order kept, nothing added
        shorter += len(kept) < len(words)
    assert dropped[1::2] == texts[1::2]  # a one-word caption is never emptied
    assert 150 < shorter < 200  # 5 words at p=0.5: all kept 1 time in 32


def test_settings_are_checked():
    with pytest.raises(UsageError, match="size must be"):
        TrainMineClipSettings(size="huge")
    with pytest.raises(UsageError, match="grad_frames"):
        TrainMineClipSettings(grad_frames=0)
    with pytest.raises(UsageError, match="word_noise"):
        TrainMineClipSettings(word_noise=1.5)
    with pytest.raises(UsageError, match="word_dropout"):
        TrainMineClipSettings(word_dropout=1.0)
    assert train_mod.main(["--help"]) == 0
