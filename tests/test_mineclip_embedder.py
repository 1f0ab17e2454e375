"""The embedding service: cached episode embeddings equal per-window encoding; layout; streaming; errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from steve1.mineclip import MineCLIP, MineClipEmbedder, preprocess_frames


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(5)
    return MineCLIP("tiny").eval()


@pytest.fixture(scope="module")
def frames():
    return np.random.default_rng(0).integers(0, 256, (37, 360, 640, 3), dtype=np.uint8)  # MineRL layout


def per_window_reference(model, frames):
    """The original's way: every 16-frame window encoded from scratch."""
    x = preprocess_frames(frames)  # (N, 3, 160, 256)
    windows = torch.stack([x[i : i + 16] for i in range(len(x) - 15)])
    with torch.no_grad():
        return model.encode_video(windows).numpy()


def test_cached_episode_embeddings_equal_per_window(model, frames):
    embeds = MineClipEmbedder(model, batch_size=8).embed_frames(frames)
    assert len(embeds) == len(frames)
    assert all(e is None for e in embeds[:15])
    assert all(e.shape == (1, 512) and e.dtype == np.float32 for e in embeds[15:])
    np.testing.assert_allclose(np.concatenate(embeds[15:]), per_window_reference(model, frames), atol=1e-5)


def test_stream_equals_batch(model, frames):
    embedder = MineClipEmbedder(model)
    stream = embedder.stream()
    streamed = [stream.push(f) for f in frames[:20]]
    assert all(e is None for e in streamed[:15])
    batch = embedder.embed_windows(frames[:20])
    np.testing.assert_allclose(np.concatenate(streamed[15:]), batch, atol=1e-5)
    stream.reset()
    assert stream.push(frames[0]) is None


def test_short_episodes(model, frames):
    embedder = MineClipEmbedder(model)
    assert embedder.embed_frames(frames[:15]) == [None] * 15
    with pytest.raises(ValueError, match="at least 16 frames"):
        embedder.embed_windows(frames[:15])


def test_bf16_is_close(model, frames):
    exact = MineClipEmbedder(model).embed_windows(frames[:18])
    low = MineClipEmbedder(model, dtype=torch.bfloat16).embed_windows(frames[:18])
    assert low.dtype == np.float32
    np.testing.assert_allclose(low, exact, atol=0.1 * np.abs(exact).max())


def test_text(model):
    embedder = MineClipEmbedder(model)
    one = embedder.embed_text("look at the sky")
    assert one.shape == (1, 512) and one.dtype == np.float32
    many = embedder.embed_texts(["look at the sky", "dig as far as possible"])
    np.testing.assert_allclose(many[:1], one, atol=1e-5)
    for bad in ("", "   \n"):
        with pytest.raises(ValueError, match="empty"):
            embedder.embed_text(bad)


def test_preprocess_matches_cv2(frames):
    out = preprocess_frames(frames[:2])
    assert out.shape == (2, 3, 160, 256) and out.dtype == torch.uint8
    expected = cv2.resize(frames[1], (256, 160), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)
    assert np.array_equal(out[1].numpy(), expected)
    small = np.ascontiguousarray(frames[:2, :160, :256])
    assert np.array_equal(preprocess_frames(small).numpy(), small.transpose(0, 3, 1, 2))  # no resize


def test_bad_frames(model, frames):
    embedder = MineClipEmbedder(model)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        embedder.embed_frames(frames[0])
    with pytest.raises(ValueError, match="uint8"):
        embedder.embed_frames(frames[:16].astype(np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        preprocess_frames(frames[:2, :, :, :1])
    with pytest.raises(ValueError, match="16 frames"):
        model.encode_video(torch.zeros(1, 8, 3, 160, 256))
    with pytest.raises(ValueError, match="160, 256"):
        model.encode_video(torch.zeros(1, 16, 3, 128, 128))
    with pytest.raises(ValueError, match="token ids"):
        model.encode_text(torch.zeros(1, 20, dtype=torch.long))


def test_video_file(model, frames, tmp_path):
    path = tmp_path / "ep.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (640, 360))
    for f in frames[:18]:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    cap, decoded = cv2.VideoCapture(str(path)), []
    while (got := cap.read())[0]:
        decoded.append(cv2.cvtColor(got[1], cv2.COLOR_BGR2RGB))
    embedder = MineClipEmbedder(model, batch_size=4)
    from_file = embedder.embed_video_file(path)
    assert len(from_file) == 18
    np.testing.assert_allclose(
        np.concatenate(from_file[15:]), embedder.embed_windows(np.stack(decoded)), atol=1e-5
    )
    episode = tmp_path / "episode"
    episode.mkdir()
    path.rename(episode / "frames.mp4")
    from_dir = embedder.embed_episode_dir(episode)
    np.testing.assert_array_equal(np.concatenate(from_dir[15:]), np.concatenate(from_file[15:]))
    with pytest.raises(FileNotFoundError, match="frames.mp4"):
        embedder.embed_episode_dir(tmp_path)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="corrupt"):
        embedder.embed_video_file(broken)
