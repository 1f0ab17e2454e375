"""MineCLIP evaluation math equals a brute-force computation."""
import math

import numpy as np
import pytest

from steve1.eval.mineclip_eval import cosine_distances, min_cosine_distance, prompt_distance_matrix


def brute_min_cos(goal, embeds):
    best = math.inf
    for e in embeds:
        if e is None:
            continue
        e = [float(b) for b in np.ravel(e)]
        dot = sum(a * b for a, b in zip(goal, e, strict=True))
        cos = dot / math.sqrt(sum(a * a for a in goal) * sum(b * b for b in e))
        best = min(best, 1 - cos)
    return best


def embeds_attn_like(rng, n_steps, dim=512):
    """As embeds_attn.pkl: None for the first 15 steps, then (1, 512) float32 arrays."""
    return [None] * 15 + [rng.standard_normal((1, dim)).astype(np.float32) for _ in range(n_steps - 15)]


def test_min_cosine_distance_equals_brute_force():
    rng = np.random.default_rng(0)
    goal = rng.standard_normal(512)
    ep = embeds_attn_like(rng, 40)
    ep[30] = (goal * 3.0)[None]  # an exact hit at step 30: distance 0
    assert min_cosine_distance(goal, ep) == pytest.approx(0.0, abs=1e-7)
    ep[30] = None
    assert min_cosine_distance(goal[None], ep) == pytest.approx(brute_min_cos(goal, ep), abs=1e-9)
    d = cosine_distances(goal, ep)
    assert d.shape == (40,) and np.isnan(d[:15]).all() and np.isnan(d[30])
    assert np.nanmin(d) == pytest.approx(brute_min_cos(goal, ep), abs=1e-9)
    arr = np.concatenate([e for e in ep if e is not None])
    assert min_cosine_distance(goal, arr) == pytest.approx(brute_min_cos(goal, ep), abs=1e-9)


def test_prompt_matrix_equals_brute_force():
    rng = np.random.default_rng(1)
    goals = {n: rng.standard_normal(512) for n in ("dig", "sky", "wood")}
    episodes = {n: [embeds_attn_like(rng, 20) for _ in range(k)] for n, k in (("dig", 2), ("sky", 3))}
    rows, cols, m = prompt_distance_matrix(goals, episodes)
    assert rows == ["dig", "sky"] and cols == ["dig", "sky", "wood"] and m.shape == (2, 3)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            expect = np.mean([brute_min_cos(goals[c], ep) for ep in episodes[r]])
            assert m[i, j] == pytest.approx(expect, abs=1e-9)


def test_errors():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="all None"):
        min_cosine_distance(np.ones(512), [None] * 15)
    with pytest.raises(ValueError, match=r"step 15 has shape \(256,\)"):
        min_cosine_distance(np.ones(512), [None] * 15 + [np.ones(256)])
    with pytest.raises(ValueError, match="goal embedding"):
        min_cosine_distance(np.ones(511), embeds_attn_like(rng, 16))
    with pytest.raises(ValueError, match="zero embedding"):
        min_cosine_distance(np.zeros(512), embeds_attn_like(rng, 16))
    with pytest.raises(ValueError, match="no episodes"):
        prompt_distance_matrix({"a": np.ones(512)}, {"a": []})
