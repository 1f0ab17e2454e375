"""Reading `4x_idm.model` (restricted unpickler, checked variant) and strict `.weights` loading."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from steve1.idm.config import IDM_4X, IDM_TINY, idm_config, load_idm_model_file
from steve1.idm.loading import load_idm, load_idm_weights, save_idm_weights
from steve1.idm.model import InverseDynamicsModel
from steve1.utils.safe_pickle import UnsafePickleError
from steve1.vpt.config import TINY_CONFIG
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.weights import WeightsMismatchError

# The 4x_idm net args as dumped from the released file.
NET_ARGS_4X = {
    "attention_heads": 32,
    "attention_mask_style": "none",
    "attention_memory_size": 128,
    "conv3d_params": {"inchan": 3, "outchan": 128, "kernel_size": [5, 1, 1], "padding": [2, 0, 0]},
    "hidsize": 4096,
    "img_shape": [128, 128, 128],
    "impala_kwargs": {"post_pool_groups": 1},
    "impala_width": 16,
    "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1},
    "n_recurrence_layers": 2,
    "only_img_input": True,
    "pointwise_ratio": 4,
    "pointwise_use_activation": False,
    "recurrence_is_residual": True,
    "recurrence_type": "transformer",
    "single_output": True,
    "timesteps": 128,
    "use_pointwise_layer": True,
    "use_pre_lstm_ln": False,
}


def _write_model(path, net_args, temperature=4):
    path.write_bytes(
        pickle.dumps(
            {
                "model": {
                    "args": {"net": {"args": net_args}, "pi_head_opts": {"temperature": temperature}}
                },
                "version": 1361,
            }
        )
    )
    return path


def test_model_file_gives_the_4x_config(tmp_path):
    cfg = load_idm_model_file(_write_model(tmp_path / "4x_idm.model", NET_ARGS_4X))
    assert cfg == IDM_4X
    assert cfg.img_shape == (128, 128, 128) and cfg.cnn_channels == (256, 512, 512) and cfg.head_dim == 128
    assert idm_config(str(tmp_path / "4x_idm.model")) == IDM_4X
    tiny_args = {
        **NET_ARGS_4X,
        "hidsize": 256,
        "attention_heads": 2,
        "impala_width": 1,
        "img_shape": [32, 32, 8],
        "conv3d_params": {**NET_ARGS_4X["conv3d_params"], "outchan": 8},
    }
    assert load_idm_model_file(_write_model(tmp_path / "t.model", tiny_args)) == IDM_TINY


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attention_mask_style": "clipped_causal"}, "unsupported IDM variant: attention_mask_style"),
        ({"attention_memory_size": 256}, "maxlen 0"),
        (
            {
                "conv3d_params": {
                    "inchan": 3,
                    "outchan": 128,
                    "kernel_size": [5, 3, 3],
                    "padding": [2, 1, 1],
                }
            },
            "temporal-only",
        ),
        ({"img_shape": [128, 128, 3]}, "img_shape"),
    ],
)
def test_unsupported_variants_are_named(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        load_idm_model_file(_write_model(tmp_path / "x.model", {**NET_ARGS_4X, **change}))


def test_policy_model_file_and_bad_files_are_explained(tmp_path):
    policy_args = {k: v for k, v in NET_ARGS_4X.items() if k != "conv3d_params"}
    with pytest.raises(ValueError, match="VPT policy .model file, not an IDM one"):
        load_idm_model_file(_write_model(tmp_path / "2x.model", policy_args))
    (tmp_path / "w.model").write_bytes(pickle.dumps({"something": 1}))
    with pytest.raises(ValueError, match="did you pass a .weights file"):
        load_idm_model_file(tmp_path / "w.model")
    with pytest.raises(FileNotFoundError, match="download_weights.sh idm"):
        load_idm_model_file(tmp_path / "missing.model")
    (tmp_path / "evil.model").write_bytes(pickle.dumps(copy.copy))  # a global outside builtins/numpy
    with pytest.raises(UnsafePickleError):
        load_idm_model_file(tmp_path / "evil.model")
    with pytest.raises(ValueError, match="unknown IDM size"):
        idm_config("5x")


def test_weights_round_trip_strict(tmp_path):
    model = InverseDynamicsModel(IDM_TINY)
    path = tmp_path / "tiny_idm.weights"
    save_idm_weights(model, path)
    sd = torch.load(path, weights_only=True)
    assert sd["net.recurrent_layer.blocks.0.r.orc_block.b_nd"].shape == (10, 0)
    loaded = load_idm("tiny", path)
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert not loaded.training


def test_weights_mismatch_names_keys(tmp_path):
    model = InverseDynamicsModel(IDM_TINY)
    sd = model.state_dict()
    missing = {k: v for k, v in sd.items() if k != "net.conv3d_layer.layer.bias"}
    with pytest.raises(
        WeightsMismatchError, match=r"does not fit this IDM: missing 1 key\(s\): net.conv3d_layer"
    ):
        load_idm_weights(InverseDynamicsModel(IDM_TINY), missing)
    extra = {**sd, "net.extra.weight": torch.zeros(1)}
    with pytest.raises(WeightsMismatchError, match="unexpected 1 key"):
        load_idm_weights(InverseDynamicsModel(IDM_TINY), extra)
    with pytest.raises(WeightsMismatchError, match="VPT \\*policy\\* weights file"):
        load_idm_weights(InverseDynamicsModel(IDM_TINY), VPTPolicy(TINY_CONFIG).state_dict())
    (tmp_path / "trunc.weights").write_bytes(b"\x80\x02garbage")
    with pytest.raises(WeightsMismatchError, match="not a readable torch weights file"):
        load_idm_weights(InverseDynamicsModel(IDM_TINY), tmp_path / "trunc.weights")
    prefixed = {f"module.{k}": v for k, v in sd.items()}  # a DDP checkpoint's prefix is stripped
    load_idm_weights(InverseDynamicsModel(IDM_TINY), prefixed)
