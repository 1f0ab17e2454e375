"""The IDM network: released 4x layout (keys, shapes, parameter count) and the reference's properties on
the tiny config with randomised weights, plus a literal step-by-step transcription of the reference forward
pass as an independent check."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from steve1.idm.config import IDM_4X, IDM_TINY, IDMConfig
from steve1.idm.model import InverseDynamicsModel, state_dict_numel
from steve1.vpt.config import TINY_CONFIG
from steve1.vpt.impala import ImpalaCNN

B, T, S = 2, 12, IDM_TINY.img_size


def _spec_4x_keys() -> dict[str, tuple[int, ...]]:
    """Every key and shape of the released 4x_idm.weights, as in the released file."""
    keys: dict[str, tuple[int, ...]] = {}
    cnn = "net.img_process.cnn."
    for i, (ci, co) in enumerate([(128, 256), (256, 512), (512, 512)]):
        p = f"{cnn}stacks.{i}."
        keys[p + "firstconv.norm.weight"] = keys[p + "firstconv.norm.bias"] = (ci,)
        keys[p + "firstconv.layer.weight"] = (co, ci, 3, 3)
        keys[p + "n.weight"] = keys[p + "n.bias"] = (co,)
        for b in range(2):
            for c in range(2):
                q = f"{p}blocks.{b}.conv{c}."
                keys[q + "norm.weight"] = keys[q + "norm.bias"] = (co,)
                keys[q + "layer.weight"] = (co, co, 3, 3)
    keys[cnn + "dense.norm.weight"] = keys[cnn + "dense.norm.bias"] = (131072,)
    keys[cnn + "dense.layer.weight"] = (256, 131072)
    lin = "net.img_process.linear."
    keys[lin + "norm.weight"] = keys[lin + "norm.bias"] = (256,)
    keys[lin + "layer.weight"] = (4096, 256)
    for i in range(2):
        p = f"net.recurrent_layer.blocks.{i}."
        keys[p + "mlp0.norm.weight"] = keys[p + "mlp0.norm.bias"] = (4096,)
        keys[p + "mlp0.layer.weight"] = (16384, 4096)
        keys[p + "mlp1.layer.weight"] = (4096, 16384)
        keys[p + "mlp1.layer.bias"] = (4096,)
        keys[p + "pre_r_ln.weight"] = keys[p + "pre_r_ln.bias"] = (4096,)
        o = p + "r.orc_block."
        keys[o + "b_nd"] = (10, 0)
        for name in ("q_layer", "k_layer", "v_layer", "proj_layer"):
            keys[o + name + ".weight"] = (4096, 4096)
        keys[o + "q_layer.bias"] = keys[o + "proj_layer.bias"] = (4096,)
        keys[o + "r_layer.weight"] = (320, 4096)
        keys[o + "r_layer.bias"] = (320,)
    keys["net.lastlayer.norm.weight"] = keys["net.lastlayer.norm.bias"] = (4096,)
    keys["net.lastlayer.layer.weight"] = (4096, 4096)
    keys["net.final_ln.weight"] = keys["net.final_ln.bias"] = (4096,)
    keys["net.conv3d_layer.layer.weight"] = (128, 3, 5, 1, 1)
    keys["net.conv3d_layer.layer.bias"] = (128,)
    keys["pi_head.buttons.linear_layer.weight"] = (40, 4096)
    keys["pi_head.buttons.linear_layer.bias"] = (40,)
    keys["pi_head.camera.linear_layer.weight"] = (22, 4096)
    keys["pi_head.camera.linear_layer.bias"] = (22,)
    return keys


def test_4x_layout_matches_the_released_file():
    with torch.device("meta"):
        model = InverseDynamicsModel(IDM_4X)
    sd = model.state_dict()
    assert len(sd) == 100
    assert state_dict_numel(model) == 482_330_046
    assert sum(v.numel() for k, v in sd.items() if k.startswith("net.")) == 482_076_032
    assert {k: tuple(v.shape) for k, v in sd.items()} == _spec_4x_keys()
    assert all(v.dtype == torch.float32 for v in sd.values())
    assert list(sd)[-6:-4] == ["net.conv3d_layer.layer.weight", "net.conv3d_layer.layer.bias"]


def _randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every tensor re-randomised (norm affines too), with fan-in scaling so activations stay O(1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() == 0:
                continue
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            else:
                p.add_(0.2 * torch.randn(p.shape, generator=g))
    return model.eval()


@pytest.fixture(scope="module")
def tiny() -> InverseDynamicsModel:
    return _randomise(InverseDynamicsModel(IDM_TINY))


def _frames(b: int = B, t: int = T, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, t, S, S, 3), dtype=torch.uint8, generator=g)


def _literal_reference(m: InverseDynamicsModel, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference forward pass transcribed step by step: one window at a time, the padded Conv3d on the
    whole window, explicit attention matrices with the (empty) relative-position bias, lastlayer computed
    then discarded."""
    cfg, net = m.config, m.net
    H, D = cfg.attention_heads, cfg.head_dim
    out_b, out_c = [], []
    for window in img.float() / 255.0:  # (T, S, S, 3)
        t = window.shape[0]
        conv = net.conv3d_layer.layer
        x = F.relu(F.conv3d(window.permute(3, 0, 1, 2)[None], conv.weight, conv.bias, padding=(2, 0, 0)))
        x = x[0].permute(1, 0, 2, 3)  # (T, C, S, S)
        x = net.img_process.linear(net.img_process.cnn(x))  # (T, E)
        for blk in net.recurrent_layer.blocks:
            h = blk.pre_r_ln(x)
            w = blk.r.orc_block
            q = w.q_layer(h).view(t, H, D).transpose(0, 1)
            k = w.k_layer(h).view(t, H, D).transpose(0, 1)
            v = w.v_layer(h).view(t, H, D).transpose(0, 1)
            r = w.r_layer(h).view(t, H, 10).transpose(0, 1)  # (H, T, 10)
            rel = r @ w.b_nd  # (H, T, 0): maxlen 0, nothing to bandify
            bias = torch.zeros(H, t, t) + rel.sum(-1, keepdim=True)  # all zeros
            att = torch.softmax(q @ k.transpose(1, 2) / D + bias, dim=-1) @ v  # (H, T, D)
            y = h + w.proj_layer(att.transpose(0, 1).reshape(t, -1))
            x = y + blk.mlp1(blk.mlp0(y))
        u = F.relu(x)
        _ = net.lastlayer(u)  # computed and thrown away, as the reference
        latent = net.final_ln(u)
        logits_b = m.pi_head["buttons"].linear_layer(latent).view(t, 20, 2) / cfg.temperature
        logits_c = m.pi_head["camera"].linear_layer(latent).view(t, 2, 11) / cfg.temperature
        out_b.append(F.log_softmax(logits_b, -1))
        out_c.append(F.log_softmax(logits_c, -1))
    return torch.stack(out_b), torch.stack(out_c)


@torch.no_grad()
def test_matches_literal_reference(tiny):
    img = _frames()
    out = tiny(img)
    ref_b, ref_c = _literal_reference(tiny, img)
    assert out.logp_buttons.shape == (B, T, 20, 2) and out.logp_camera.shape == (B, T, 2, 11)
    torch.testing.assert_close(out.logp_buttons, ref_b, atol=2e-5, rtol=0)
    torch.testing.assert_close(out.logp_camera, ref_c, atol=2e-5, rtol=0)
    assert out.logp_buttons.std() > 0.05  # the weights are not degenerate


@torch.no_grad()
def test_state_is_empty_and_state_first_change_nothing(tiny):
    img = _frames()
    out = tiny(img)
    assert len(out.state) == 2
    for mask, (k, v) in out.state:
        assert mask is None and k.shape == v.shape == (B, 0, IDM_TINY.hidsize)
    again = tiny(img, state=out.state, first=torch.ones(T, 1))
    torch.testing.assert_close(again.logp_buttons, out.logp_buttons, atol=0, rtol=0)
    torch.testing.assert_close(again.logp_camera, out.logp_camera, atol=0, rtol=0)


@torch.no_grad()
@pytest.mark.parametrize("part", ["net.lastlayer.", "r.orc_block.r_layer."])
def test_lastlayer_and_r_layer_are_inert(part):
    model = _randomise(InverseDynamicsModel(IDM_TINY))
    img = _frames()
    before = model(img)
    for name, p in model.named_parameters():
        if part in name:
            p.mul_(3.0).add_(1.0)
    after = model(img)
    torch.testing.assert_close(after.logp_buttons, before.logp_buttons, atol=0, rtol=0)
    torch.testing.assert_close(after.logp_camera, before.logp_camera, atol=0, rtol=0)


@torch.no_grad()
def test_non_causal_last_frame_changes_first_prediction(tiny):
    img = _frames(1)
    changed = img.clone()
    changed[0, -1] = 255 - changed[0, -1]
    a, b = tiny(img), tiny(changed)
    assert (a.logp_buttons[0, 0] - b.logp_buttons[0, 0]).abs().max() > 1e-4


@torch.no_grad()
@pytest.mark.parametrize("k", [0, 5, T - 1])
def test_temporal_conv_locality(tiny, k):
    img = _frames(1)
    changed = img.clone()
    changed[0, k] = 255 - changed[0, k]
    diff = (tiny.encode_frames(img) - tiny.encode_frames(changed)).abs().amax(-1)[0]  # (T,)
    touched = {t for t in range(T) if diff[t] > 0}
    assert touched == {t for t in range(k - 2, k + 3) if 0 <= t < T}


@torch.no_grad()
def test_zero_padding_is_black_frames(tiny):
    """Frames outside the window read as black: a window prefixed with 2 black frames gives frame 0's
    CNN features as the first real frame of the padded window."""
    img = _frames(1, 6)
    padded = torch.cat([torch.zeros(1, 2, S, S, 3, dtype=torch.uint8), img], dim=1)
    a, b = tiny.encode_frames(img), tiny.encode_frames(padded)
    torch.testing.assert_close(a[:, :3], b[:, 2:5], atol=1e-5, rtol=0)


@torch.no_grad()
def test_batch_rows_independent_and_chunking_exact(tiny):
    img = _frames(3, T)
    batched = tiny(img)
    for i in range(3):
        single = tiny(img[i : i + 1])
        torch.testing.assert_close(batched.logp_buttons[i : i + 1], single.logp_buttons, atol=1e-5, rtol=0)
    whole = InverseDynamicsModel(IDM_TINY, frame_chunk=1000)
    whole.load_state_dict(tiny.state_dict())
    torch.testing.assert_close(whole.eval()(img).logp_camera, batched.logp_camera, atol=1e-5, rtol=0)
    per_frame = InverseDynamicsModel(IDM_TINY, frame_chunk=1)
    per_frame.load_state_dict(tiny.state_dict())
    torch.testing.assert_close(per_frame.eval()(img).logp_camera, batched.logp_camera, atol=1e-5, rtol=0)


@torch.no_grad()
def test_transformer_is_permutation_equivariant(tiny):
    x = torch.randn(1, T, IDM_TINY.hidsize)
    perm = torch.randperm(T)
    state = tiny.initial_state(1)
    y, _ = tiny.net.recurrent_layer(x, state)
    y_perm, _ = tiny.net.recurrent_layer(x[:, perm], state)
    torch.testing.assert_close(y_perm, y[:, perm], atol=1e-5, rtol=0)


@torch.no_grad()
def test_single_frame_and_predict_is_argmax(tiny):
    out = tiny(_frames(2, 1))
    assert out.logp_buttons.shape == (2, 1, 20, 2)
    img = _frames()
    out = tiny(img)
    pred = tiny.predict(img)
    assert torch.equal(pred.buttons, out.logp_buttons.argmax(-1))
    assert torch.equal(pred.camera, out.logp_camera.argmax(-1))
    assert pred.buttons.dtype == torch.int64 and pred.camera.shape == (B, T, 2)
    expect = out.logp_buttons.max(-1).values.sum(-1) + out.logp_camera.max(-1).values.sum(-1)
    torch.testing.assert_close(pred.log_prob, expect)
    torch.testing.assert_close(out.logp_buttons.exp().sum(-1), torch.ones(B, T, 20))


@torch.no_grad()
def test_temperature_scales_logits_not_decisions(tiny):
    hot = InverseDynamicsModel(IDMConfig(**{**IDM_TINY.__dict__, "temperature": 1.0}))
    hot.load_state_dict(tiny.state_dict())
    img = _frames()
    a, b = tiny(img), hot.eval()(img)
    assert torch.equal(a.logp_camera.argmax(-1), b.logp_camera.argmax(-1))
    torch.testing.assert_close(torch.log_softmax(b.logp_camera / 4.0, -1), a.logp_camera, atol=1e-5, rtol=0)


def test_bad_input_is_rejected(tiny):
    with pytest.raises(ValueError, match=r"expected \(B, T, 32, 32, 3\) uint8"):
        tiny(torch.zeros(1, 4, 128, 128, 3, dtype=torch.uint8))
    with pytest.raises(TypeError, match="dtype torch.float32"):
        tiny(torch.zeros(1, 4, S, S, 3))
    with pytest.raises(ValueError, match="state must have 2 entries"):
        tiny(_frames(), state=[])


def test_policy_cnn_unchanged_by_the_idm_options():
    """The IDM's parametrisation of the shared CNN leaves the policy's (bias, no norm on stack 0's conv)."""
    policy_cnn = ImpalaCNN(TINY_CONFIG)
    assert "stacks.0.firstconv.layer.bias" in policy_cnn.state_dict()
    assert "stacks.0.firstconv.norm.weight" not in policy_cnn.state_dict()
    idm_cnn = ImpalaCNN(IDM_TINY, first_conv_norm=True)
    assert "stacks.0.firstconv.layer.bias" not in idm_cnn.state_dict()
    assert idm_cnn.state_dict()["stacks.0.firstconv.norm.weight"].shape == (IDM_TINY.conv3d_out,)


@torch.no_grad()
def test_bfloat16_stays_close_to_float32(tiny):
    half = InverseDynamicsModel(IDM_TINY)
    half.load_state_dict(tiny.state_dict())
    half = half.to(torch.bfloat16).eval()
    img = _frames()
    a, b = tiny(img), half(img)
    assert b.logp_buttons.dtype == torch.float32  # log-probs always in float32, as the reference
    assert (a.logp_buttons - b.logp_buttons).abs().max() < 0.1
