"""Videos are written atomically and read back with the right frame count and size."""
import numpy as np
import pytest

from steve1.eval.video import (
    VideoError,
    fitted_font_scale,
    frame_with_prompt_panel,
    overlay_text,
    prompt_panel,
    read_video,
    save_interactive_recording,
    write_video,
)


def moving_square(n=12, h=64, w=96):
    frames = np.zeros((n, h, w, 3), np.uint8)
    for t in range(n):
        frames[t, 10:30, 4 * t: 4 * t + 20] = (200, 60, 30)  # an orange-red square moving right
    return frames


def test_roundtrip_count_size_and_colour(tmp_path):
    frames = moving_square()
    p = write_video(frames, tmp_path / "sub" / "v.mp4", fps=20)
    back = read_video(p)
    assert back.shape == frames.shape and back.dtype == np.uint8
    # lossy codec, but colour order (RGB in, RGB out) and content must survive
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 6
    assert back[5, 20, 30, 0] > 150 and back[5, 20, 30, 2] < 80
    assert [x.name for x in (tmp_path / "sub").iterdir()] == ["v.mp4"]


def test_generator_input_and_text_overlay(tmp_path):
    frames = moving_square(n=5)
    plain = read_video(write_video(iter(frames), tmp_path / "a.mp4"))
    labelled = read_video(write_video(frames, tmp_path / "b.mp4", text="build a tower"))
    per_frame = read_video(write_video(frames, tmp_path / "c.mp4", text=["a", "b", "", "d", "e"]))
    assert labelled.shape == plain.shape == per_frame.shape
    assert np.abs(labelled[:, :12].astype(int) - plain[:, :12].astype(int)).mean() > 5  # band differs
    assert np.abs(per_frame[2].astype(int) - plain[2].astype(int)).mean() < 3  # empty label: no overlay


def test_bad_input_leaves_no_file(tmp_path):
    frames = moving_square(n=3)
    with pytest.raises(VideoError, match="uint8"):
        write_video(frames.astype(np.float32), tmp_path / "x.mp4")
    with pytest.raises(VideoError, match="frame 1 has shape"):
        write_video([frames[0], frames[1, :32]], tmp_path / "x.mp4")
    with pytest.raises(VideoError, match="no frames"):
        write_video([], tmp_path / "x.mp4")
    with pytest.raises(VideoError, match="2 entries for 3 frames|more frames"):
        write_video(frames, tmp_path / "x.mp4", text=["a", "b"])
    with pytest.raises(VideoError, match="4 entries for 3 frames"):
        write_video(frames, tmp_path / "x.mp4", text=["a", "b", "c", "d"])
    assert list(tmp_path.iterdir()) == []


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path / "none.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError, match="corrupt"):
        read_video(bad)
    good = write_video(moving_square(n=30), tmp_path / "good.mp4").read_bytes()
    bad.write_bytes(good[: len(good) // 3])  # truncated download
    with pytest.raises(VideoError, match="corrupt|truncated"):
        read_video(bad)


def test_interactive_panel_layout():
    pov = np.full((360, 640, 3), 90, np.uint8)
    out = frame_with_prompt_panel(pov, "chop a tree")
    assert out.shape == (360, 960, 3)
    assert np.array_equal(out[:, :640], pov)
    panel = out[:, 640:]
    rows = np.flatnonzero(panel.max(axis=(1, 2)) > 0)
    cols = np.flatnonzero(panel.max(axis=(0, 2)) > 0)
    assert abs((rows.min() + rows.max()) / 2 - 180) <= 6  # vertically centred (stroke width, anti-aliasing)
    assert abs((cols.min() + cols.max()) / 2 - 160) <= 6  # horizontally centred
    assert cols.max() - cols.min() <= 320 - 320 // 5 + 4  # fitted to the width rule
    assert panel.max() == 255 and set(np.unique(panel)) >= {0, 255}
    assert prompt_panel("").max() == 0


def test_font_scale_grows_to_fill_width():
    short, long = fitted_font_scale("hi", 320), fitted_font_scale("a much longer prompt text here", 320)
    assert short > long >= 0.1
    assert overlay_text(np.zeros((8, 8, 3), np.uint8), "x").shape == (8, 8, 3)


def test_interactive_recording(tmp_path):
    import json

    pov = moving_square(n=4, h=360, w=640)
    prompts = ["chop a tree", "chop a tree", "look at the sky", "look at the sky"]
    frames = [frame_with_prompt_panel(f, p) for f, p in zip(pov, prompts, strict=True)]
    video, log = save_interactive_recording(frames, prompts, tmp_path / "session")
    assert read_video(video).shape == (4, 360, 960, 3)
    assert json.loads(log.read_text()) == prompts
    with pytest.raises(VideoError, match="one prompt per frame"):
        save_interactive_recording(frames, prompts[:2], tmp_path / "bad")


def test_long_prompt_overlay_is_wrapped_to_a_readable_size_at_128():
    from steve1.eval.video import MIN_OVERLAY_SCALE, fitted_font_scale, overlay_lines

    text = "chop down the tree and collect the wood"
    assert fitted_font_scale(text, 128, 1) < MIN_OVERLAY_SCALE  # on one line it would be unreadable
    lines, scale = overlay_lines(text, 128, 128)
    assert scale >= MIN_OVERLAY_SCALE and len(lines) >= 2 and " ".join(lines) == text
    frame = overlay_text(np.zeros((128, 128, 3), np.uint8), text)
    lit_rows = np.flatnonzero((frame > 200).any(axis=(1, 2)))
    assert lit_rows.max() - lit_rows.min() > 12  # text on more than one line
    assert overlay_lines("sky", 128, 128)[0] == ["sky"]  # a short prompt stays on one line
