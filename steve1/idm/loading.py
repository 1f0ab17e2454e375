"""Build the IDM and load the released `4x_idm.weights` strictly (every key, every shape, `b_nd` (10, 0)).

The reference loads with `strict=False`, so a mis-named key would silently keep its random init; here a
missing, unexpected or mis-shaped key is an error that names it (`steve1.vpt.weights`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from steve1 import paths
from steve1.idm.config import IDMConfig, idm_config
from steve1.idm.model import InverseDynamicsModel
from steve1.vpt.weights import WeightsMismatchError, load_policy_weights, save_policy_weights


def load_idm_weights(model: InverseDynamicsModel, path_or_state_dict) -> None:
    """Load a `.weights` file (or a state dict) into `model`, strictly."""
    try:
        load_policy_weights(model, path_or_state_dict)
    except WeightsMismatchError as e:
        msg = str(e).replace("does not fit this policy", "does not fit this IDM")
        if "value_head" in msg or "8641" in msg or "121" in msg:
            msg += " -- this looks like a VPT *policy* weights file; the IDM needs 4x_idm.weights"
        raise WeightsMismatchError(msg) from None


def save_idm_weights(model: InverseDynamicsModel, path: str | Path) -> None:
    """Write the state dict in the released layout (bare keys, CPU tensors), atomically."""
    save_policy_weights(model, path)


def load_idm(
    model: str | Path | IDMConfig = paths.IDM_MODEL,
    weights: str | Path | None = paths.IDM_WEIGHTS,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> InverseDynamicsModel:
    """The IDM from a `.model` file (or "4x" / "tiny" / an `IDMConfig`) with `weights` loaded (None: random
    init, for tests), on `device` in `dtype`, in eval mode."""
    config = idm_config(model)
    idm = InverseDynamicsModel(config)
    if weights is not None:
        load_idm_weights(idm, weights)
    return idm.to(device=device, dtype=dtype).eval()
