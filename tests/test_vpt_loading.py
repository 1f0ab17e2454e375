"""Weight files, `.model` files and frame preprocessing."""
from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest
import torch

from steve1.utils.safe_pickle import UnsafePickleError
from steve1.vpt.config import POLICY_SIZES, TINY_CONFIG, load_model_file, policy_config
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.preprocess import resize_pov
from steve1.vpt.weights import WeightsMismatchError, load_policy_weights, save_policy_weights

# The 2x net args as stored in a VPT `.model` file.
NET_ARGS_2X = dict(
    attention_heads=16, attention_mask_style="clipped_causal", attention_memory_size=256,
    diff_mlp_embedding=False, hidsize=2048, img_shape=[128, 128, 3], impala_chans=[16, 32, 32],
    impala_kwargs={"post_pool_groups": 1},
    impala_width=8, init_norm_kwargs={"batch_norm": False, "group_norm_groups": 1}, n_recurrence_layers=4,
    only_img_input=True, pointwise_ratio=4, pointwise_use_activation=False, recurrence_is_residual=True,
    recurrence_type="transformer", timesteps=128, use_pointwise_layer=True, use_pre_lstm_ln=False,
)


def _model_file(path, net_args):
    """A `.model`-shaped pickle; the temperature is a numpy scalar, as the callers' float() cast suggests."""
    args = {"net": {"args": net_args}, "pi_head_opts": {"temperature": np.float64(2.0)}}
    return _dump(path, {"model": {"args": args}})


def _randomised(goal_dim=None, seed=0) -> VPTPolicy:
    p = VPTPolicy(TINY_CONFIG, goal_dim=goal_dim)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in p.state_dict().values():
            t.copy_(torch.randn(t.shape, generator=g))
    return p


def _same(a: VPTPolicy, b: VPTPolicy) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_model_file_gives_the_2x_config(tmp_path):
    cfg = load_model_file(_model_file(tmp_path / "2x.model", NET_ARGS_2X))
    assert cfg == POLICY_SIZES["2x"] and isinstance(cfg.temperature, float) and cfg.maxlen == 128
    assert policy_config(tmp_path / "2x.model") == cfg
    assert policy_config("1x").hidsize == 1024 and policy_config("3x").attention_heads == 24
    assert policy_config("tiny") == TINY_CONFIG


def test_wrong_model_files_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="not a VPT policy .model file"):
        load_model_file(_dump(tmp_path / "b.model", {"x": 1}))
    with pytest.raises(ValueError, match="unsupported VPT variant: recurrence_type='multi_layer_lstm'"):
        lstm = {**NET_ARGS_2X, "recurrence_type": "multi_layer_lstm"}
        load_model_file(_model_file(tmp_path / "c.model", lstm))
    with pytest.raises(FileNotFoundError, match="no such .model file"):
        load_model_file(tmp_path / "missing.model")
    with pytest.raises(ValueError, match="unknown policy size '4x'"):
        policy_config("4x")
    evil = tmp_path / "evil.model"
    evil.write_bytes(pickle.dumps(print))  # a global outside the allow-list is never executed
    with pytest.raises(UnsafePickleError, match="builtins.print"):
        load_model_file(evil)


def _dump(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


def test_released_layout_round_trips_with_and_without_wrapper_prefix(tmp_path):
    src = _randomised(goal_dim=512)
    save_policy_weights(src, tmp_path / "steve1.weights")
    saved = torch.load(tmp_path / "steve1.weights", weights_only=True)
    assert len(saved) == 104 and all(k.split(".")[0] in {"net", "pi_head", "value_head"} for k in saved)
    dst = VPTPolicy(TINY_CONFIG, goal_dim=512)
    assert load_policy_weights(dst, tmp_path / "steve1.weights") == []
    assert _same(src, dst)
    for prefix in ("module.policy.", "policy.", "module."):
        torch.save({prefix + k: v for k, v in saved.items()}, tmp_path / "wrapped.weights")
        dst = VPTPolicy(TINY_CONFIG, goal_dim=512)
        load_policy_weights(dst, tmp_path / "wrapped.weights")
        assert _same(src, dst), prefix
    assert not list(tmp_path.glob(".*tmp*"))  # nothing half-written left behind


def test_vpt_weights_into_goal_policy_need_the_flag():
    vpt = _randomised()
    steve = VPTPolicy(TINY_CONFIG, goal_dim=512)
    init_goal = steve.net.mineclip_embed_linear.weight.clone()
    hint = r"net\.mineclip_embed_linear\.bias.*allow_missing_goal_layer=True"
    with pytest.raises(WeightsMismatchError, match=hint):
        load_policy_weights(steve, vpt.state_dict())
    left = load_policy_weights(steve, vpt.state_dict(), allow_missing_goal_layer=True)
    assert left == ["net.mineclip_embed_linear.bias", "net.mineclip_embed_linear.weight"]
    assert torch.equal(steve.net.mineclip_embed_linear.weight, init_goal)
    assert torch.equal(steve.net.final_ln.bias, vpt.net.final_ln.bias)
    with pytest.raises(WeightsMismatchError, match="unexpected 2 key.*build the policy with goal_dim=512"):
        load_policy_weights(VPTPolicy(TINY_CONFIG), _randomised(goal_dim=512).state_dict())


@pytest.mark.parametrize("mangle, message", [
    ("rename", r"missing 1 key\(s\): net\.final_ln\.bias.*unexpected 1 key\(s\): net\.final_ln\.b"),
    ("drop", r"missing 1 key\(s\): pi_head\.camera\.linear_layer\.bias"),
    ("shape", r"value_head\.linear\.weight: file \(1, 65\) vs model \(1, 64\)"),
    ("extra", r"unexpected 1 key\(s\): net\.something_else"),
])
def test_mangled_state_dicts_fail_naming_the_key(mangle, message):
    sd = dict(_randomised().state_dict())
    if mangle == "rename":
        sd["net.final_ln.b"] = sd.pop("net.final_ln.bias")
    elif mangle == "drop":
        del sd["pi_head.camera.linear_layer.bias"]
    elif mangle == "shape":
        sd["value_head.linear.weight"] = torch.zeros(1, 65)
    else:
        sd["net.something_else"] = torch.zeros(3)
    policy = VPTPolicy(TINY_CONFIG)
    before = {k: v.clone() for k, v in policy.state_dict().items()}
    with pytest.raises(WeightsMismatchError, match=message):
        load_policy_weights(policy, sd)
    assert all(torch.equal(before[k], v) for k, v in policy.state_dict().items())  # nothing half-loaded


def test_unreadable_or_foreign_weight_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        load_policy_weights(VPTPolicy(TINY_CONFIG), tmp_path / "none.weights")
    (tmp_path / "trunc.weights").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(WeightsMismatchError, match="not a readable torch weights file"):
        load_policy_weights(VPTPolicy(TINY_CONFIG), tmp_path / "trunc.weights")
    with pytest.raises(WeightsMismatchError, match="no key matches"):
        load_policy_weights(VPTPolicy(TINY_CONFIG), {"encoder.weight": torch.zeros(2)})
    with pytest.raises(WeightsMismatchError, match="different policy size"):
        with torch.device("meta"):
            big = VPTPolicy(POLICY_SIZES["1x"])
        load_policy_weights(big, _randomised().state_dict())


def test_resize_pov_matches_cv2_and_validates():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 3, 360, 640, 3), dtype=np.uint8)
    out = resize_pov(frames)
    assert out.shape == (2, 3, 128, 128, 3) and out.dtype == np.uint8
    want = cv2.resize(frames[1, 2], (128, 128), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out[1, 2], want)
    small = frames[0, 0, :128, :128]
    assert resize_pov(small) is small
    with pytest.raises(TypeError, match="dtype float32; expected uint8"):
        resize_pov(frames.astype(np.float32))
    with pytest.raises(ValueError, match=r"expected \(\.\.\., H, W, 3\) RGB"):
        resize_pov(frames[..., :2])
    with pytest.raises(TypeError, match="numpy array"):
        resize_pov(torch.zeros(128, 128, 3))


def test_goal_size_mismatch_names_the_goal_embedding_not_the_policy_size():
    """Weights of a policy trained with tiny MineCLIP (goal dim 512 vs another) are a goal-size mismatch."""
    other_goal = _randomised(goal_dim=512).state_dict()
    with pytest.raises(WeightsMismatchError, match="another goal embedding size") as exc:
        load_policy_weights(VPTPolicy(TINY_CONFIG, goal_dim=64), other_goal)
    assert "1x/2x/3x" not in str(exc.value)
