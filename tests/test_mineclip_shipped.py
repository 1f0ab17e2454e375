"""The MineCLIP this package ships (`--mineclip minetest`): the name resolves everywhere the flag exists."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from steve1 import paths
from steve1.data.embedding import embed_fn_for
from steve1.mineclip import MineClipEmbedder, load_mineclip, random_mineclip
from steve1.mineclip.checkpoint import (
    config_from_sidecar,
    mineclip_file,
    read_sidecar,
    resolve_mineclip,
    round_weights,
    save_mineclip,
)
from steve1.utils.checksum import file_digest


def test_the_shipped_file_is_ours_and_intact():
    meta = read_sidecar(paths.SHIPPED_MINECLIP)
    assert meta is not None, f"{paths.SHIPPED_MINECLIP} has no sidecar"
    assert meta["sha256"] == file_digest(paths.SHIPPED_MINECLIP, "sha256")
    assert meta["trained"]["steps"] > 0
    stored = torch.load(paths.SHIPPED_MINECLIP, weights_only=True)["state_dict"]
    assert {v.dtype for v in stored.values()} == {torch.float16}  # halved on disk, float32 once loaded


def test_minetest_names_the_shipped_file_everywhere():
    assert mineclip_file(paths.SHIPPED_NAME) == paths.SHIPPED_MINECLIP
    model = load_mineclip(paths.SHIPPED_NAME)
    assert model.config == config_from_sidecar(read_sidecar(paths.SHIPPED_MINECLIP))
    assert next(model.parameters()).dtype == torch.float32
    resolved, desc = resolve_mineclip(paths.SHIPPED_NAME)
    assert "ours" in desc and str(paths.SHIPPED_MINECLIP) in desc
    frames = np.random.default_rng(0).integers(0, 255, (16, 128, 128, 3), dtype=np.uint8)
    got = embed_fn_for(paths.SHIPPED_NAME, device="cpu", dtype="float32")(frames)  # the data tools' flag
    want = MineClipEmbedder(model).embed_frames(frames)
    np.testing.assert_allclose(got[15], want[15], rtol=1e-5, atol=1e-6)
    assert got[15].shape == (1, 512)
    from steve1.data.reembed import model_id

    assert model_id(paths.SHIPPED_NAME, paths.MINECLIP_WEIGHTS) == "sha256:" + file_digest(
        paths.SHIPPED_MINECLIP, "sha256")  # steve1 embed --mineclip minetest


def test_the_agent_takes_the_name_and_the_shipped_steve1_loads_whole():
    from steve1.agent.models import load_agent_models
    from steve1.vpt.config import SMALL_CONFIG

    agent = load_agent_models(policy="tiny", mineclip=paths.SHIPPED_NAME, random_weights=True)
    shipped = load_mineclip(paths.SHIPPED_MINECLIP)
    ids = torch.zeros(1, 77, dtype=torch.long)
    with torch.no_grad():
        torch.testing.assert_close(agent.embedder.model.encode_text(ids), shipped.encode_text(ids))
    whole = load_agent_models(paths.SHIPPED_NAME)  # policy (strict key/shape check), its MineCLIP and prior
    assert whole.policy.config == SMALL_CONFIG and not whole.random_weights
    assert whole.prior.input_dim == whole.goal_dim == 512
    assert all(torch.isfinite(p).all() for p in whole.policy.parameters())


def test_a_missing_shipped_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "SHIPPED_MINECLIP", tmp_path / "mineclip.pth")
    for load in (load_mineclip, resolve_mineclip, lambda name: embed_fn_for(name)):
        with pytest.raises(FileNotFoundError, match="shipped MineCLIP .* is missing"):
            load(paths.SHIPPED_NAME)


def test_float16_files_load_back_to_the_rounded_weights_exactly(tmp_path):
    model = round_weights(random_mineclip("tiny", seed=4))
    path = save_mineclip(model, tmp_path / "half.pth", dtype=torch.float16)
    full = save_mineclip(model, tmp_path / "full.pth")
    assert path.stat().st_size < 0.5 * full.stat().st_size  # tied copies stored once, two bytes a weight
    loaded = load_mineclip(path).state_dict()
    for k, v in model.state_dict().items():
        assert torch.equal(loaded[k], v), k
