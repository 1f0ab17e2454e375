import json
import pickle

import numpy as np
import pytest

from steve1.data.episode import (
    Episode,
    EpisodeError,
    EpisodeWriter,
    find_episode,
    list_episode_dirs,
    save_episode,
)
from steve1.data.episode_names import contractor_episode_name, contractor_key, mixed_agents_episode_name


def _frames(n, seed=0):
    # smooth, distinct frames so the lossy codec keeps them recognisable
    base = np.linspace(0, 200, 128, dtype=np.float32)
    out = np.empty((n, 128, 128, 3), np.uint8)
    for i in range(n):
        out[i, ..., 0] = (base[None, :] + 3 * i) % 256
        out[i, ..., 1] = (base[:, None] + 5 * i) % 256
        out[i, ..., 2] = (20 * (i % 10))
    return out


def _episode(tmp_path, n=40, name="ep_a"):
    frames = _frames(n)
    actions = [{"forward": i % 2, "camera": np.array([i, -i], dtype=np.int64)} for i in range(n)]
    embeds = [None] * 15 + [np.full((1, 512), i, np.float32) for i in range(15, n)]
    return frames, actions, embeds, save_episode(tmp_path, name, frames, actions, embeds, {"k": 1})


def test_roundtrip_original_layout(tmp_path):
    frames, actions, embeds, ep = _episode(tmp_path)
    files = sorted(p.name for p in ep.path.iterdir())
    assert files == sorted(["frames.mp4", "actions.pkl", "embeds_attn.pkl", "metadata.json", "len.txt"])
    assert (ep.path / "len.txt").read_text() == "40"
    assert json.loads((ep.path / "metadata.json").read_text()) == {"k": 1}
    # files readable by plain pickle, as the original does
    with open(ep.path / "embeds_attn.pkl", "rb") as f:
        raw = pickle.load(f)
    assert raw[:15] == [None] * 15 and raw[15].shape == (1, 512)
    ep2 = Episode(ep.path, deep=True)
    assert len(ep2) == 40
    got = ep2.frames()
    assert got.shape == (40, 128, 128, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - frames.astype(int)).mean() < 4  # lossy mp4v, but RGB order kept
    assert ep2.actions()[3]["forward"] == 1 and ep2.actions()[3]["camera"].tolist() == [3, -3]
    e = ep2.embeds_array(10, 20)
    assert np.isnan(e[:5]).all() and (e[5:, 0] == np.arange(15, 20)).all()


def test_frame_range_matches_full_decode(tmp_path):
    _, _, _, ep = _episode(tmp_path, n=64)
    full = ep.frames()
    for s, e in [(0, 1), (1, 5), (13, 14), (30, 64), (63, 64), (20, 20)]:
        assert np.array_equal(ep.frames(s, e), full[s:e])
    with pytest.raises(IndexError):
        ep.frames(60, 65)


def test_partial_episode_never_visible_and_cleaned(tmp_path):
    with pytest.raises(RuntimeError):
        with EpisodeWriter(tmp_path, key="k1") as w:
            w.append(_frames(1)[0], {"forward": 1}, None)
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    # a kill -9 leaves a hidden partial; readers ignore it and the next writer of that key removes it
    w = EpisodeWriter(tmp_path, key="k1")
    w.append(_frames(1)[0], {"forward": 1}, None)
    assert list_episode_dirs(tmp_path) == [] and find_episode(tmp_path, "k1") is None
    w2 = EpisodeWriter(tmp_path, key="k1")
    assert not w.tmp_dir.exists() and w2.tmp_dir.exists()
    w2.abort()


def test_refuses_overwrite_and_bad_frames(tmp_path):
    _episode(tmp_path, name="x")
    with pytest.raises(FileExistsError):
        _episode(tmp_path, name="x")
    with EpisodeWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="128, 128, 3"):
            w.add_frames(np.zeros((64, 64, 3), np.uint8))


def test_validation_names_broken_episode(tmp_path):
    _, _, _, ep = _episode(tmp_path, n=20)
    (ep.path / "len.txt").write_text("25")
    with pytest.raises(EpisodeError, match=ep.name + ".*actions.pkl has 20"):
        Episode(ep.path, deep=True)
    (ep.path / "len.txt").write_text("oops")
    with pytest.raises(EpisodeError, match="not an integer"):
        Episode(ep.path)
    (ep.path / "len.txt").unlink()
    with pytest.raises(EpisodeError, match="missing len.txt"):
        Episode(ep.path)


def test_short_video_detected(tmp_path):
    _, _, _, ep = _episode(tmp_path, n=20)
    _, _, _, other = _episode(tmp_path / "o", n=16)
    (ep.path / "frames.mp4").write_bytes((other.path / "frames.mp4").read_bytes())
    with pytest.raises(EpisodeError, match="frames.mp4 has 16 frames"):
        Episode(ep.path, deep=True)
    with pytest.raises(EpisodeError, match="ends at frame 16"):
        Episode(ep.path).frames(10, 20)


def test_restricted_unpickler(tmp_path):
    _, _, _, ep = _episode(tmp_path, n=16)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (ep.path / "actions.pkl").write_bytes(pickle.dumps([Evil()] * 16))
    with pytest.raises(EpisodeError, match="refusing to unpickle builtins.print"):
        Episode(ep.path).actions()


def test_names():
    assert contractor_key("8.x", 17) == "contractor_8_x_17"
    assert contractor_episode_name("10.x", 3, 4321) == "contractor_10_x_3_contractor_nmFrm4321_term"
    n = mixed_agents_episode_name("data/weights/vpt/rl-from-foundation-2x.weights", "a/bc-house-3x.weights",
                                  7200, 5012, 42, "maxTimesteps", episode_uuid="U")
    assert n == "U_models[rl-from-foundation-2x,bc-house-3x]_mxFrm7200_nmFrm5012_seed42_termMaxtimesteps"
    assert Episode.term_reason.fget(type("E", (), {"name": n})()) == "Maxtimesteps"


def test_opens_episode_written_like_the_original(tmp_path):
    # the original writes with plain pickle/json/cv2 (BGR frames, list-typed embeds in old files)
    import cv2

    d = tmp_path / "contractor_8_x_1_contractor_nmFrm20_term"
    d.mkdir()
    frames = _frames(20)
    w = cv2.VideoWriter(str(d / "frames.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (128, 128))
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    w.release()
    actions = [{"forward": 1, "camera": np.array([0, 1])} for _ in range(20)]
    embeds = [None] * 15 + [list(np.arange(512, dtype=np.float64))] * 5
    (d / "actions.pkl").write_bytes(pickle.dumps(actions))
    (d / "embeds_attn.pkl").write_bytes(pickle.dumps(embeds))
    meta = {"contractor_version": "8.x", "contractor_index": 1}
    (d / "metadata.json").write_text(json.dumps(meta, indent=4))
    (d / "len.txt").write_text("20")
    ep = Episode(d, deep=True)
    assert ep.embeds()[15].dtype == np.float32 and ep.embeds()[15].shape == (1, 512)
    assert np.abs(ep.frames(5, 6).astype(int) - frames[5:6].astype(int)).mean() < 4
    assert ep.metadata["contractor_index"] == 1 and ep.term_reason == ""


def test_remove_stale_partials(tmp_path):
    import socket
    import subprocess
    import sys

    from steve1.data.episode import remove_stale_partials

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    for name, owner in [("dead", {"host": socket.gethostname(), "pid": int(dead)}),
                        ("other_host", {"host": "elsewhere", "pid": int(dead)})]:
        d = tmp_path / f".partial-{name}-1-x"
        d.mkdir()
        (d / ".owner").write_text(json.dumps(owner))
    live = EpisodeWriter(tmp_path, key="live")  # this process: still writing
    assert remove_stale_partials(tmp_path) == 1
    assert sorted(p.name.split("-")[1] for p in tmp_path.iterdir()) == ["live", "other_host"]
    live.abort()


def test_committed_cursor_png_is_the_generated_arrow():
    import cv2

    from steve1.data.assets.make_cursor import CURSOR_PATH, draw_cursor

    png = cv2.imread(str(CURSOR_PATH), cv2.IMREAD_UNCHANGED)
    assert png is not None and np.array_equal(png, draw_cursor())
    assert png.shape == (16, 16, 4) and not png[:, 11:, 3].any()  # opaque pixels within 16 x 11, as VPT's
