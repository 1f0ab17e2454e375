"""VPT's inverse dynamics model (weight-compatible with `4x_idm.weights`) and a video labeller built on it."""

from steve1.idm.actions import idm_to_env, idm_to_env_arrays
from steve1.idm.config import IDM_4X, IDM_TINY, IDMConfig, idm_config, load_idm_model_file
from steve1.idm.loading import load_idm, load_idm_weights, save_idm_weights
from steve1.idm.model import IDMOutput, IDMPrediction, InverseDynamicsModel
from steve1.idm.preprocess import resize_frames
from steve1.idm.windows import StreamingLabeller, WindowPolicy, plan_windows

__all__ = [
    "IDM_4X",
    "IDM_TINY",
    "IDMConfig",
    "IDMOutput",
    "IDMPrediction",
    "InverseDynamicsModel",
    "StreamingLabeller",
    "WindowPolicy",
    "idm_config",
    "idm_to_env",
    "idm_to_env_arrays",
    "load_idm",
    "load_idm_model_file",
    "load_idm_weights",
    "plan_windows",
    "resize_frames",
    "save_idm_weights",
]
