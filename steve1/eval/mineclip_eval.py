"""MineCLIP evaluation math: how close an episode came to a goal in MineCLIP's embedding space.

An episode's MineCLIP embeddings are one per step, each of the 16 frames ending at that step; the first
15 steps have none (`embeds_attn.pkl` stores None there). The paper scores an episode against a goal (a
prompt's text embedding) by the minimum cosine distance over the episode, and compares prompts by a
matrix: row = the prompt the agent was given, column = the prompt it is scored against. The embedding
model itself is `steve1.mineclip` (`MineClipEmbedder.embed_frames(frames) -> list`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from steve1.vpt.config import MINECLIP_DIM

EMBED_DIM = MINECLIP_DIM


def _goal_vector(goal, dim: int | None) -> np.ndarray:
    g = np.asarray(goal, dtype=np.float64).reshape(-1) if goal is not None else None
    if g is None or g.size == 0 or (dim is not None and g.size != dim) or np.asarray(goal).ndim > 2:
        shape = None if goal is None else np.asarray(goal).shape
        raise ValueError(f"goal embedding must be a ({dim},) or (1, {dim}) array, got {shape}")
    return g


def stack_episode_embeds(episode_embeds, dim: int = EMBED_DIM) -> tuple[np.ndarray, np.ndarray]:
    """Per-step list (entries (dim,), (1, dim) or None) or (N, dim) array -> ((M, dim) array, (M,) steps).

    Returns only the steps that have an embedding, with their step indices.
    """
    if isinstance(episode_embeds, np.ndarray) and episode_embeds.dtype != object:
        arr = episode_embeds.astype(np.float64, copy=False)
        if arr.ndim != 2 or arr.shape[1] != dim:
            raise ValueError(f"episode embeddings must have shape (N, {dim}), got {arr.shape}")
        return arr, np.arange(len(arr))
    steps, rows = [], []
    for t, e in enumerate(episode_embeds):
        if e is None:
            continue
        e = np.asarray(e, dtype=np.float64)
        if e.size != dim:
            raise ValueError(f"episode embedding at step {t} has shape {e.shape}, "
                             f"expected ({dim},) or (1, {dim})")
        steps.append(t)
        rows.append(e.reshape(dim))
    if not rows:
        raise ValueError("the episode has no MineCLIP embedding (all None): it needs at least 16 frames")
    return np.stack(rows), np.asarray(steps)


def cosine_distances(goal, episode_embeds, dim: int = EMBED_DIM) -> np.ndarray:
    """(N,) cosine distance 1 − cos(goal, e_t) per step; NaN where the step has no embedding."""
    g = _goal_vector(goal, dim)
    n = len(episode_embeds)
    emb, steps = stack_episode_embeds(episode_embeds, dim)
    out = np.full(n, np.nan)
    out[steps] = 1.0 - _unit(emb) @ _unit(g[None])[0]
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("cosine distance of a zero embedding is undefined (an all-zero goal or window)")
    return x / norm


def min_cosine_distance(goal, episode_embeds, dim: int = EMBED_DIM) -> float:
    """The paper's episode score: min over windows of 1 − cos(goal, window embedding). Lower is closer."""
    g = _goal_vector(goal, dim)
    emb, _ = stack_episode_embeds(episode_embeds, dim)
    return float(1.0 - np.max(_unit(emb) @ _unit(g[None])[0]))


def prompt_distance_matrix(goal_embeds: Mapping[str, object],
                           episodes_by_prompt: Mapping[str, Sequence[object]],
                           dim: int = EMBED_DIM) -> tuple[list[str], list[str], np.ndarray]:
    """The paper's prompt-vs-prompt matrix.

    `goal_embeds`: scoring prompt name -> (dim,) embedding (the prompt's MineCLIP text embedding);
    `episodes_by_prompt`: conditioning prompt name -> its episodes' per-step embeddings.
    Returns (row names, column names, (R, C) matrix) with entry [i, j] = mean over the episodes run with
    prompt i of their min cosine distance to goal j. A diagonal lower than the rest of its column means the
    agent follows the prompt.
    """
    cols = list(goal_embeds)
    rows = list(episodes_by_prompt)
    if not cols or not rows:
        raise ValueError("prompt_distance_matrix needs at least one goal and one prompt's episodes")
    goals = _unit(np.stack([_goal_vector(goal_embeds[c], dim) for c in cols]))  # (C, dim)
    matrix = np.empty((len(rows), len(cols)))
    for i, name in enumerate(rows):
        episodes = episodes_by_prompt[name]
        if len(episodes) == 0:
            raise ValueError(f"prompt {name!r} has no episodes")
        per_episode = [1.0 - (_unit(stack_episode_embeds(ep, dim)[0]) @ goals.T).max(axis=0)
                       for ep in episodes]  # each (C,)
        matrix[i] = np.mean(per_episode, axis=0)
    return rows, cols, matrix
