"""Load and save policy weights in the released layout (a flat dict of tensors with bare `net.`/`pi_head.`/
`value_head.` keys), strictly.

VPT and STEVE-1 load with `strict=False`, so a mis-named key silently keeps its random init; here every
missing, unexpected or mis-shaped key is an error that names the keys. The wrapper prefixes that training
code adds (`module.policy.` from STEVE-1's DDP training, `policy.` single-process, `module.` plain DDP)
are stripped.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from steve1.utils.atomic import atomic_torch_save
from steve1.utils.state_dict import StateDictError, StateDictMismatch, check_state_dict

KNOWN_PREFIXES = ("module.policy.", "policy.", "module.")
GOAL_LAYER_PREFIX = "net.mineclip_embed_linear."


class WeightsMismatchError(StateDictError, RuntimeError):
    """A weight file does not fit the policy (missing / unexpected / mis-shaped keys)."""


def _strip_prefix(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in KNOWN_PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            return {k[len(prefix):]: v for k, v in sd.items()}
    return dict(sd)


def _read(path_or_state_dict) -> tuple[dict[str, torch.Tensor], str]:
    if isinstance(path_or_state_dict, Mapping):
        return dict(path_or_state_dict), "state dict"
    path = Path(path_or_state_dict)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file (download it with download_weights.sh)")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise WeightsMismatchError(
            f"{path}: not a readable torch weights file ({type(e).__name__}: {str(e)[:200]}); "
            "is it truncated, or a .model pickle instead of a .weights file?"
        ) from None
    if isinstance(sd, Mapping) and "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        sd = sd["state_dict"]
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise WeightsMismatchError(f"{path}: expected a flat dict of tensors (a policy state dict)")
    return dict(sd), str(path)


def _mismatch_hint(found: StateDictMismatch, n_expected: int) -> str:
    hints = []
    if found.missing and all(k.startswith(GOAL_LAYER_PREFIX) for k in found.missing):
        hints.append("the missing keys are the STEVE-1 goal layer: VPT weights into a goal policy need "
                     "allow_missing_goal_layer=True")
    elif len(found.missing) == n_expected:
        hints.append("no key matches: wrong file, or keys carry an unknown prefix?")
    if found.unexpected and all(k.startswith(GOAL_LAYER_PREFIX) for k in found.unexpected):
        hints.append("the unexpected keys are a STEVE-1 goal layer: build the policy with goal_dim=512")
    if found.wrong_shape and all(k.startswith(GOAL_LAYER_PREFIX) for k in found.wrong_shape):
        hints.append("only the goal layer's shape differs: the weights were trained for another goal "
                     "embedding size (another MineCLIP, e.g. --mineclip tiny vs the released attn)")
    elif found.wrong_shape:
        hints.append("shapes differ: weights of a different policy size (1x/2x/3x?)")
    return "; ".join(hints)


def load_policy_weights(
    policy: nn.Module, path_or_state_dict, allow_missing_goal_layer: bool = False
) -> list[str]:
    """Load a `.weights` file (or a state dict) into `policy` strictly; returns the keys left at init.

    allow_missing_goal_layer: load VPT weights (134 keys) into a STEVE-1 policy, leaving only
    `net.mineclip_embed_linear.*` at their initial values (how STEVE-1 training starts).
    """
    sd, source = _read(path_or_state_dict)
    sd = _strip_prefix(sd)
    own = policy.state_dict()
    left_at_init = []
    if allow_missing_goal_layer:
        left_at_init = sorted(k for k in own if k.startswith(GOAL_LAYER_PREFIX) and k not in sd)
    expected = {k: v.shape for k, v in own.items() if k not in left_at_init}
    check_state_dict(expected, sd, f"{source} does not fit this policy",
                     hint=lambda found: _mismatch_hint(found, len(expected)), error=WeightsMismatchError)
    policy.load_state_dict(sd, strict=not left_at_init)
    return left_at_init


def save_policy_weights(policy: nn.Module, path: str | Path) -> None:
    """Write the state dict in the released layout (bare keys, CPU tensors), atomically."""
    sd = {k: v.detach().cpu().contiguous() for k, v in policy.state_dict().items()}
    atomic_torch_save(sd, path)
