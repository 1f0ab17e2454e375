"""Loading `attn.pth`-format files: strict keys and shapes, tied copies, md5, clear errors."""
from __future__ import annotations

import hashlib

import pytest
import torch

import steve1.mineclip.checkpoint as checkpoint
from steve1.mineclip import MineCLIP, MineClipCheckpointError, load_mineclip
from steve1.utils.checksum import ChecksumError


@pytest.fixture(scope="module")
def tiny_state():
    torch.manual_seed(1)
    return {k: v.clone() for k, v in MineCLIP("tiny").state_dict().items()}


def _save(path, state, wrap=True):
    torch.save({"state_dict": {"model." + k: v for k, v in state.items()}} if wrap else state, path)
    return path


def _frames(n=16):
    gen = torch.Generator().manual_seed(3)
    return torch.randint(0, 256, (1, n, 3, 160, 256), dtype=torch.uint8, generator=gen)


def test_loads_released_wrapper_and_bare_state_dict(tmp_path, tiny_state):
    reference = MineCLIP("tiny").eval()
    reference.load_state_dict(tiny_state)
    expected = reference.encode_video(_frames()).detach()
    for wrap in (True, False):
        model = load_mineclip(_save(tmp_path / f"m{wrap}.pth", tiny_state, wrap), "tiny", check_md5=False)
        assert not model.training
        torch.testing.assert_close(model.encode_video(_frames()).detach(), expected, atol=1e-6, rtol=0)


def test_md5_is_checked(tmp_path, tiny_state, monkeypatch):
    path = _save(tmp_path / "m.pth", tiny_state)
    with pytest.raises(ChecksumError, match="b5ece9198337cfd117a3bfbd921e56da.*check_md5=False"):
        load_mineclip(path, "tiny")
    monkeypatch.setattr(checkpoint, "ATTN_MD5", hashlib.md5(path.read_bytes()).hexdigest())
    assert isinstance(load_mineclip(path, "tiny"), MineCLIP)


def test_missing_and_unexpected_keys_are_named(tmp_path, tiny_state):
    state = dict(tiny_state)
    del state["temporal_encoder.attn.model.norm.weight"]
    state["temporal_encoder.extra.weight"] = torch.zeros(1)
    with pytest.raises(MineClipCheckpointError) as err:
        load_mineclip(_save(tmp_path / "m.pth", state), "tiny", check_md5=False)
    assert "missing 1 key(s): temporal_encoder.attn.model.norm.weight" in str(err.value)
    assert "unexpected 1 key(s): temporal_encoder.extra.weight" in str(err.value)


def test_wrong_config_names_shapes(tmp_path, tiny_state):
    pattern = r"(?s)config reduced.*shape mismatch.*file \(96, 32\) vs model \(48, 16\)"
    with pytest.raises(MineClipCheckpointError, match=pattern):
        load_mineclip(_save(tmp_path / "m.pth", tiny_state), "reduced", check_md5=False)


def test_tied_copies_must_be_identical(tmp_path, tiny_state):
    state = dict(tiny_state)
    state["image_encoder.ln_pre.bias"] = state["image_encoder.ln_pre.bias"] + 1.0
    with pytest.raises(MineClipCheckpointError, match="tied copies.*image_encoder.ln_pre.bias"):
        load_mineclip(_save(tmp_path / "m.pth", state), "tiny", check_md5=False)


def test_not_a_mineclip_file(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(MineClipCheckpointError, match="not a readable torch checkpoint"):
        load_mineclip(garbage, "tiny", check_md5=False)
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"net.weight": torch.zeros(2)}}, other)
    with pytest.raises(MineClipCheckpointError, match="without any 'model.' keys"):
        load_mineclip(other, "tiny", check_md5=False)
    with pytest.raises(FileNotFoundError, match="download"):
        load_mineclip(tmp_path / "absent.pth", "tiny")
    with pytest.raises(ValueError, match="unknown MineCLIP config"):
        load_mineclip(other, "huge", check_md5=False)


def test_no_random_weights_after_failed_load(tmp_path, tiny_state, monkeypatch):
    """The model is built on the meta device: nothing but the file's tensors can end up in it."""
    built = []
    original = checkpoint.MineCLIP

    def spy(cfg):
        built.append(original(cfg))
        return built[-1]

    monkeypatch.setattr(checkpoint, "MineCLIP", spy)
    state = dict(tiny_state)
    del state["clip_model.logit_scale"]
    with pytest.raises(MineClipCheckpointError):
        load_mineclip(_save(tmp_path / "m.pth", state), "tiny", check_md5=False)
    assert built and all(p.is_meta for p in built[0].parameters())


def test_dtype_and_device(tmp_path, tiny_state):
    path = _save(tmp_path / "m.pth", tiny_state)
    model = load_mineclip(path, "tiny", dtype=torch.bfloat16, check_md5=False)
    assert model.dtype == torch.bfloat16
    out = model.encode_video(_frames())
    assert out.dtype == torch.bfloat16 and out.shape == (1, 512)


def test_random_mineclip_is_seeded_and_leaves_the_global_rng_alone():
    from steve1.mineclip import random_mineclip

    state = torch.random.get_rng_state()
    a, b = random_mineclip("tiny", seed=3), random_mineclip("tiny", seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    assert all(torch.equal(x, y) for x, y in pairs)
    assert not a.training
