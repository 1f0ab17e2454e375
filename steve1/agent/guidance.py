"""The classifier-free guidance scale a policy is run at when the command line does not give one.

The original runs every policy at 6 (text) and 7 (visual). A policy of ours may have been measured best at
another scale: then `<weights stem>.guidance.json` beside its weights file says so, e.g.
`policy.weights` -> `policy.guidance.json` holding {"text_cond_scale": 3.0, "visual_cond_scale": 3.0} (plus
any notes). The shipped Minetest policy has one; the released weights have none, so they keep 6 and 7.
A scale given on the command line always wins.
"""
from __future__ import annotations

import json
from pathlib import Path

from steve1 import paths
from steve1.agent.goals import TEXT_COND_SCALE, VISUAL_COND_SCALE
from steve1.cli_config import UsageError

GUIDANCE_SUFFIX = ".guidance.json"
WEIGHTS_SUFFIX = ".weights"
KEYS = ("text_cond_scale", "visual_cond_scale")


def guidance_file(weights: str | Path) -> Path:
    """`data/x.weights` -> `data/x.guidance.json`."""
    path = Path(weights)
    stem = path.name[: -len(WEIGHTS_SUFFIX)] if path.name.endswith(WEIGHTS_SUFFIX) else path.name
    return path.with_name(stem + GUIDANCE_SUFFIX)


def policy_guidance(policy: str, weights: str | Path) -> tuple[float, float]:
    """(text, visual) default guidance of the policy whose weights are `weights` (the shipped one for
    policy 'minetest'): its guidance file's, else the original's 6 and 7."""
    path = guidance_file(paths.SHIPPED_POLICY if str(policy) == paths.SHIPPED_NAME else weights)
    if not path.is_file():
        return TEXT_COND_SCALE, VISUAL_COND_SCALE
    try:
        data = json.loads(path.read_text())
        scales = tuple(float(data.get(k, default)) for k, default in zip(
            KEYS, (TEXT_COND_SCALE, VISUAL_COND_SCALE), strict=True))
    except (ValueError, TypeError, AttributeError) as e:
        raise UsageError(f"{path}: not a guidance file ({e}); it must be JSON like "
                         f'{{"text_cond_scale": 6.0, "visual_cond_scale": 7.0}}') from None
    if any(s < 0 for s in scales):
        raise UsageError(f"{path}: guidance scales must be >= 0, got {scales}")
    return scales


def fill_guidance(settings, text: str | None = None, visual: str | None = None) -> None:
    """Set the named guidance fields of `settings` (which has .policy and .weights) that are None to the
    policy's defaults."""
    defaults = policy_guidance(settings.policy, settings.weights)
    for name, value in zip((text, visual), defaults, strict=True):
        if name is not None and getattr(settings, name) is None:
            setattr(settings, name, value)
