"""Episode directory names, exactly as the original writes them."""
from __future__ import annotations

import uuid
from pathlib import Path

CONTRACTOR_NAME_SEP = "_contractor_nmFrm"
TERM_REASONS = ("maxTimesteps", "keyboard", "exception", "done")  # "done": ours, world ended itself


def contractor_key(version: str, index: int) -> str:
    """`contractor_8_x_17` for version '8.x', index 17 (the part the original uses to skip done episodes)."""
    return f"contractor_{version.replace('.', '_')}_{index}"


def contractor_episode_name(version: str, index: int, num_frames: int) -> str:
    """E.g. `contractor_8_x_17_contractor_nmFrm4321_term`."""
    return f"{contractor_key(version, index)}{CONTRACTOR_NAME_SEP}{num_frames}_term"


def weights_label(weights_path: str) -> str:
    """Weights file basename before the first '.', e.g. `rl-from-foundation-2x`."""
    return Path(weights_path).name.split(".")[0]


def mixed_agents_episode_name(
    weights1: str, weights2: str, max_timesteps: int, num_frames: int, seed: int, term_reason: str,
    episode_uuid: str | None = None,
) -> str:
    """E.g. `<uuid4>_models[rl-from-foundation-2x,bc-house-3x]_mxFrm7200_nmFrm5012_seed42_termKeyboard`."""
    if term_reason not in TERM_REASONS:
        raise ValueError(f"term_reason must be one of {TERM_REASONS}, got {term_reason!r}")
    episode_uuid = episode_uuid or str(uuid.uuid4())
    return (
        f"{episode_uuid}_models[{weights_label(weights1)},{weights_label(weights2)}]_mxFrm{max_timesteps}"
        f"_nmFrm{num_frames}_seed{seed}_term{term_reason.capitalize()}"
    )
