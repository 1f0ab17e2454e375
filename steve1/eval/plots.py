"""Plots in the paper's style (matplotlib Agg backend, PNG, written atomically).

`plot_prompt_bars`: per prompt, one bar per agent (e.g. the prompted agent vs the unconditioned agent), bar =
mean over episodes with a 95 % confidence interval. `plot_distance_matrix`: the prompt-vs-prompt MineCLIP
distance matrix as a heat map.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402

from steve1.eval.results import mean_ci95  # noqa: E402
from steve1.utils.atomic import atomic_path  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def error_bars(groups: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """(means, [lower, upper] error lengths) of the groups' 95 % CIs; an empty group is NaN. When no value
    is negative (counts, distances), the interval is clipped at 0 rather than drawn below it."""
    stats = [mean_ci95(g) if len(g) else (np.nan, 0.0) for g in groups]
    means = np.array([m for m, _ in stats], dtype=np.float64)
    half = np.array([c for _, c in stats], dtype=np.float64)
    lower = half.copy()
    if all(v >= 0 for g in groups for v in g):
        lower = np.minimum(half, np.where(np.isnan(means), 0.0, means))
    return means, np.stack([lower, half])


def plot_prompt_bars(values: Mapping[str, Mapping[str, Sequence[float]]], path: str | Path,
                     ylabel: str, title: str | None = None) -> Path:
    """values[prompt][agent] = per-episode values -> grouped bars with 95 % CI error bars, saved to `path`."""
    prompts = list(values)
    if not prompts:
        raise ValueError("plot_prompt_bars got no prompts")
    agents: list[str] = []
    for p in prompts:
        agents += [a for a in values[p] if a not in agents]
    width = 0.8 / len(agents)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(prompts) * max(1, len(agents)) / 2), 3.5))
    x = np.arange(len(prompts))
    for j, agent in enumerate(agents):
        means, errs = error_bars([values[p].get(agent, ()) for p in prompts])
        ax.bar(x + (j - (len(agents) - 1) / 2) * width, means, width, yerr=errs, capsize=3, label=agent)
    tilt = len(prompts) > 4
    ax.set_xticks(x, prompts, rotation=30 if tilt else 0, ha="right" if tilt else "center")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def plot_distance_matrix(row_names: Sequence[str], col_names: Sequence[str], matrix: np.ndarray,
                         path: str | Path, title: str | None = None) -> Path:
    """Heat map of `prompt_distance_matrix` (rows: conditioning prompt, columns: scoring prompt)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (len(row_names), len(col_names)):
        raise ValueError(f"matrix has shape {matrix.shape}, expected ({len(row_names)}, {len(col_names)})")
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(col_names), 1 + 0.5 * len(row_names)))
    im = ax.imshow(matrix, cmap="viridis_r")
    ax.set_xticks(range(len(col_names)), col_names, rotation=45, ha="right")
    ax.set_yticks(range(len(row_names)), row_names)
    ax.set_xlabel("scored against prompt")
    ax.set_ylabel("agent conditioned on prompt")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, f"{matrix[i, j]:.3f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, ax=ax, label="min cosine distance")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_target_panels(values: Mapping[str, Mapping[str, Sequence[float]]], units: Mapping[str, str],
                       path: str | Path, title: str | None = None) -> Path:
    """One panel per prompt (its own y axis: each prompt has its own target quantity), one bar per agent
    (values[prompt][agent] = per-episode values; mean with 95 % CI error bars); units[prompt] labels y."""
    prompts = list(values)
    if not prompts:
        raise ValueError("plot_target_panels got no prompts")
    cols = min(4, len(prompts))
    rows = -(-len(prompts) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, prompt in zip(axes.flat, prompts, strict=False):
        agents = list(values[prompt])
        means, errs = error_bars([values[prompt][a] for a in agents])
        ax.bar(range(len(agents)), means, yerr=errs, capsize=3,
               color=[colors[i % len(colors)] for i in range(len(agents))])
        ax.set_xticks(range(len(agents)), agents, rotation=30, ha="right", fontsize=8)
        ax.set_title(prompt, fontsize=9)
        ax.set_ylabel(units.get(prompt, ""), fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(prompts):]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
