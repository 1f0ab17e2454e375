"""read_video_chunks: the one OpenCV decoder behind read_video, embed_video_file and IDM labelling."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.eval import video as eval_video
from steve1.idm import label
from steve1.utils.video import VideoError, keep_frame, read_video_chunks


def test_chunks_resampling_and_errors(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (10, 16, 24, 3), dtype=np.uint8)
    path = eval_video.write_video(frames, tmp_path / "v.mp4", fps=20)
    chunks = list(read_video_chunks(path, chunk=4))
    assert [len(c) for c in chunks] == [4, 4, 2] and chunks[0].shape[1:] == (16, 24, 3)
    np.testing.assert_array_equal(np.concatenate(chunks), eval_video.read_video(path))
    halved = np.concatenate(list(read_video_chunks(path, target_fps=10)))
    assert len(halved) == sum(keep_frame(i, 20.0, 10.0) for i in range(10)) == 5
    with pytest.raises(FileNotFoundError, match="not found"):
        list(read_video_chunks(tmp_path / "none.mp4"))
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(VideoError, match="cannot open the video"):
        list(read_video_chunks(tmp_path / "bad.mp4"))
    assert eval_video.VideoError is label.VideoError is VideoError  # one error type for every video reader
