"""The labeller end to end: synthetic videos -> episodes the data branch's reader validates and the trainer's
action encoder reads; labels equal the IDM on the planned windows; resumable, sharded, bad videos counted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from steve1.data.embedding import fake_embed_fn
from steve1.data.episode import Episode
from steve1.idm import label as L
from steve1.idm.config import IDM_TINY
from steve1.idm.model import InverseDynamicsModel
from steve1.idm.preprocess import resize_frames
from steve1.idm.windows import WindowPolicy, plan_windows
from steve1.spaces import ACTION_KEYS
from steve1.vpt.actions import env_to_agent, env_to_factored


def _write_video(path: Path, n: int, w: int, h: int, seed: int = 0) -> np.ndarray:
    """A moving pattern; returns the RGB frames as OpenCV decodes them back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20, (w, h))
    for i in range(n):
        vw.write(np.roll(base, shift=(2 * i, 3 * i), axis=(0, 1)))
    vw.release()
    return np.concatenate(list(L.read_video_chunks(path)))


@pytest.fixture(scope="module")
def idm() -> InverseDynamicsModel:
    model = InverseDynamicsModel(IDM_TINY)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel():
                p.copy_(torch.randn(p.shape, generator=g) / (math.sqrt(p[0].numel()) if p.dim() > 1 else 5))
    return model.eval()


def _label(idm, video_dir, out_dir, embed_fn=fake_embed_fn, **kw):
    messages: list[str] = []
    stats = L.label_videos(
        video_dir,
        out_dir,
        L.make_predict_fn(idm),
        embed_fn,
        IDM_TINY.img_size,
        progress=False,
        log=messages.append,
        **kw,
    )
    return stats, messages


def test_video_becomes_a_valid_episode_with_the_idms_labels(tmp_path, idm):
    frames = _write_video(tmp_path / "videos" / "clip one.mp4", 80, 96, 54)  # odd size, name with a space
    embed_fn = L.make_embed_fn("tiny", None, "cpu")
    policy = WindowPolicy(32, 16)  # several windows on a short video
    stats, messages = _label(
        idm, tmp_path / "videos", tmp_path / "out", embed_fn, policy=policy, batch_windows=2
    )
    assert (stats.labelled, stats.failed, stats.frames) == (1, 0, 80) and not messages

    [path] = sorted((tmp_path / "out").iterdir())
    assert path.name.startswith("idm_clip-one_") and path.name.endswith("_nmFrm80")
    ep = Episode(path, deep=True)  # the data branch's reader: files, lengths, video, embeds all checked
    assert len(ep) == 80 and ep.is_valid()
    assert ep.frames(0, 3).shape == (3, 128, 128, 3)
    meta = ep.metadata
    assert (meta["source"], meta["frames"], meta["width"], meta["height"]) == ("idm", 80, 96, 54)

    actions = ep.actions()
    assert len(actions) == 80 and all(set(a) == set(ACTION_KEYS) for a in actions)
    buttons_cls, camera_cls = env_to_agent(actions)  # what the trainer's dataset does with them
    assert buttons_cls.shape == camera_cls.shape == (80,)

    # The labels are the IDM's argmax on the planned windows of the decoded, resized video.
    small = resize_frames(frames, IDM_TINY.img_size)
    expect_b, expect_c = [], []
    for s, e, lo, hi in plan_windows(80, policy):
        pred = idm.predict(torch.from_numpy(small[s:e])[None])
        expect_b.append(pred.buttons[0, lo - s : hi - s].numpy())
        expect_c.append(pred.camera[0, lo - s : hi - s].numpy())
    got_b, got_c = env_to_factored(actions)
    np.testing.assert_array_equal(got_b, np.concatenate(expect_b))
    np.testing.assert_array_equal(got_c, np.concatenate(expect_c))
    assert (
        len({tuple(r) for r in got_c}) > 1 or len({tuple(r) for r in got_b}) > 1
    )  # labels are not constant

    embeds = ep.embeds()
    assert all(e is None for e in embeds[:15])
    assert all(e.shape == (1, 512) and e.dtype == np.float32 for e in embeds[15:])
    direct = embed_fn(_resize_clip(frames[:40]))  # streamed in chunks == one call on the frames
    np.testing.assert_allclose(np.concatenate(embeds[15:40]), np.concatenate(direct[15:]), atol=1e-5)


def _resize_clip(frames: np.ndarray) -> np.ndarray:
    return np.stack([cv2.resize(f, (256, 160), interpolation=cv2.INTER_LINEAR) for f in frames])


def test_resume_shards_and_bad_videos(tmp_path, idm):
    vids = tmp_path / "videos"
    for i, n in enumerate([40, 70, 20]):
        _write_video(vids / f"v{i}.mp4", n, 64, 36, seed=i)
    _write_video(vids / "sub" / "v0.mp4", 30, 48, 48)  # same stem in a subfolder: its own episode
    (vids / "broken.mp4").write_bytes(b"\x00not a video" * 50)
    _write_video(vids / "short.mp4", 8, 32, 32)
    (vids / "notes.txt").write_text("not a video")
    out = tmp_path / "out"

    # A killed run's leftover partial episode of v1 must not count, and is removed when v1 is redone.
    key_v1 = L.episode_key(vids / "v1.mp4", vids)
    (out / f".partial-{key_v1}-123-abcd").mkdir(parents=True)

    s0, m0 = _label(idm, vids, out, worker_id=0, num_workers=2)
    s1, m1 = _label(idm, vids, out, worker_id=1, num_workers=2)
    assert s0.videos + s1.videos == 6 and s0.labelled + s1.labelled == 4
    assert s0.failed + s1.failed == 2
    msgs = " ".join(m0 + m1)
    assert "broken.mp4: cannot open the video" in msgs and "short.mp4: only 8 frames" in msgs
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 4 and not any(n.startswith(".") for n in names)
    assert sorted(int(n.rsplit("_nmFrm", 1)[1]) for n in names) == [20, 30, 40, 70]
    for name in names:
        Episode(out / name, deep=True)

    again, _ = _label(idm, vids, out)
    assert (again.already_done, again.labelled, again.failed) == (4, 0, 2)


def test_shard_and_listing_errors(tmp_path):
    assert L.shard(list(range(7)), 1, 3) == [1, 4]
    with pytest.raises(ValueError, match="worker_id"):
        L.shard([1], 3, 3)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        L.list_videos(tmp_path / "nope")


def test_cli_main(tmp_path, capsys):
    _write_video(tmp_path / "v" / "a.mp4", 20, 40, 30)
    rc = L.main(
        [
            "--video_dir",
            str(tmp_path / "v"),
            "--output_dir",
            str(tmp_path / "o"),
            "--idm_model",
            "tiny",
            "--idm_weights",
            "random",
            "--mineclip_config",
            "fake",
            "--device",
            "cpu",
            "--no_progress",
            "--window",
            "16",
            "--stride",
            "8",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["labelled"], summary["frames"]) == (1, 20)
    [ep] = [p for p in (tmp_path / "o").iterdir() if not p.name.startswith(".")]
    assert Episode(ep, deep=True).metadata["window"] == 16
    # the same folder with another window: refused, not mixed with the 16-frame-window episodes
    argv = ["--video-dir", str(tmp_path / "v"), "--output-dir", str(tmp_path / "o"), "--idm-model", "tiny",
            "--idm-weights", "random", "--mineclip-config", "fake", "--device", "cpu", "--no-progress",
            "--window", "32", "--stride", "16"]
    assert L.main(argv) == 2
    assert "other settings (stride 8 -> 16, window 16 -> 32)" in capsys.readouterr().err


def test_target_fps_drops_frames_of_faster_videos(tmp_path, idm):
    assert [L.keep_frame(i, 60, 20) for i in range(6)] == [True, False, False, True, False, False]
    assert sum(L.keep_frame(i, 30, 20) for i in range(30)) == 20
    assert all(
        L.keep_frame(i, 20, 20) and L.keep_frame(i, 15, 20) and L.keep_frame(i, 0, 20) for i in range(9)
    )
    vids = tmp_path / "v"
    vids.mkdir()
    base = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    vw = cv2.VideoWriter(str(vids / "fast.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 40, (32, 32))
    for i in range(60):
        vw.write(np.roll(base, 3 * i, axis=1))
    vw.release()
    source = resize_frames(np.concatenate(list(L.read_video_chunks(vids / "fast.mp4"))), 128).astype(float)
    stats, messages = _label(idm, vids, tmp_path / "o", target_fps=20)
    assert stats.frames == 30 and not messages
    [ep] = (tmp_path / "o").iterdir()
    ep = Episode(ep, deep=True)
    assert (ep.metadata["fps"], ep.metadata["episode_fps"]) == (40.0, 20.0)
    for k in (1, 2, 7):  # episode frame k is source frame 2k
        err = ((source - ep.frames(k, k + 1).astype(float)) ** 2).mean(axis=(1, 2, 3))
        assert int(err.argmin()) == 2 * k
    stats, messages = _label(idm, vids, tmp_path / "o_all")
    assert stats.frames == 60 and "runs at 40 fps" in messages[0]


def test_corrupt_video_is_skipped_without_a_frame_rate_note(tmp_path):
    """A file OpenCV cannot read reports fps -1: no 'runs at -1 fps' note before it is skipped."""
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "broken.mp4").write_bytes(b"not a video at all" * 100)
    messages: list[str] = []
    stats = L.label_videos(tmp_path / "v", tmp_path / "o", predict=None, embed_fn=None, idm_size=128,
                           progress=False, log=messages.append)
    assert stats.failed == 1 and stats.labelled == 0
    assert not any("fps" in m for m in messages), messages
    assert any("skipped" in m for m in messages)
