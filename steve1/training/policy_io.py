"""The trainer's only touch points with the policy package (`steve1.vpt`), plus recurrent-state helpers."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from steve1.vpt.config import MINECLIP_DIM

GOAL_DIM = MINECLIP_DIM


def build_policy(policy: str, in_weights: str | None) -> nn.Module:
    """The goal-conditioned VPT policy, initialised from a VPT/STEVE-1 `.weights` file when given (the new
    goal layer stays randomly initialised when the file is a plain VPT one)."""
    from steve1.vpt.config import policy_config
    from steve1.vpt.policy import VPTPolicy
    from steve1.vpt.weights import load_policy_weights

    model = VPTPolicy(policy_config(policy), goal_dim=GOAL_DIM)
    if in_weights:
        if not Path(in_weights).is_file():
            raise FileNotFoundError(
                f"in_weights {in_weights} not found; run download_weights.sh or fix the path"
            )
        load_policy_weights(model, in_weights, allow_missing_goal_layer=True)
    return model


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Write the policy in the released layout (keys as in steve1.weights, no prefix), atomically."""
    from steve1.vpt.weights import save_policy_weights

    save_policy_weights(model, path)


def tree_map(fn: Callable[[torch.Tensor], Any], tree: Any) -> Any:
    """Apply `fn` to every tensor of a nested list/tuple/dict (the recurrent state)."""
    if isinstance(tree, torch.Tensor):
        return fn(tree)
    if isinstance(tree, (list, tuple)):
        mapped = [tree_map(fn, x) for x in tree]
        return type(tree)(mapped) if not hasattr(tree, "_fields") else type(tree)(*mapped)
    if isinstance(tree, dict):
        return {k: tree_map(fn, v) for k, v in tree.items()}
    return tree


def detach_state(state: Any) -> Any:
    return tree_map(lambda t: t.detach(), state)
