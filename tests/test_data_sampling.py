import numpy as np
import pytest

from steve1.data.episode import EpisodeWriter
from steve1.data.sampling import create_sampling, load_sampling, split_by_frames


def _fake_dataset(d, lens, prefix):
    # complete, consistent episodes of blank frames (the sampler checks video, actions and embeds)
    for i, n in enumerate(lens):
        with EpisodeWriter(d, key=f"{prefix}{i}") as w:
            w.add_frames(np.zeros((n, 128, 128, 3), np.uint8))
            w.add_actions([{}] * n)
            w.add_embeds([None] * 15 + [np.zeros((1, 512), np.float32)] * (n - 15))
            w.finish(f"{prefix}{i}_nmFrm{n}")


def test_split_budget_and_determinism():
    eps = [(f"d/e{i}", 100 + 10 * i) for i in range(30)]
    tr, va = split_by_frames(eps, 1000, 500, seed=1)
    assert sum(n for _, n in tr) >= 1000 and sum(n for _, n in tr[:-1]) < 1000  # crossing episode included
    assert sum(n for _, n in va) >= 500 and sum(n for _, n in va[:-1]) < 500
    assert not set(tr) & set(va)
    assert (tr, va) == split_by_frames(list(reversed(eps)), 1000, 500, seed=1)  # input order irrelevant
    assert (tr, va) != split_by_frames(eps, 1000, 500, seed=2)
    tr_all, va_all = split_by_frames(eps, None, 500, seed=1)
    assert sum(n for _, n in tr_all) + sum(n for _, n in va_all) <= sum(n for _, n in eps)
    with pytest.raises(ValueError, match="hold 7350 frames"):
        split_by_frames(eps, 7000, 1000)


def test_val_from_removes_val_episodes_from_train():
    eps = [(f"d/e{i}", 100) for i in range(20)]
    held = ["d/e3", "d/e7"]
    tr, va = split_by_frames(eps, None, 0, val_episodes=held)
    assert [p for p, _ in va] == held and not {p for p, _ in tr} & set(held) and len(tr) == 18


def test_create_sampling_uses_all_sources(tmp_path):
    c, m = tmp_path / "dataset_contractor", tmp_path / "dataset_mixed_agents"
    _fake_dataset(c, [700, 800, 660, 100], "contractor_")  # 100 < 655: not valid for training
    _fake_dataset(m, [900, 1000], "mixed_")
    out = tmp_path / "samplings" / "new"  # created if missing
    tr, va = create_sampling("neurips", out, [str(c), str(m)], train_frames=3000, val_frames=600, seed=0)
    train, val = load_sampling(out, "neurips")
    assert train == [p for p, _ in tr] and val == [p for p, _ in va]
    everything = set(train) | set(val)
    assert any("mixed_" in p for p in everything) and not any("contractor_3" in p for p in everything)
    assert all(p.startswith(str(tmp_path)) for p in everything)
    assert [p.name for p in out.iterdir()] and all(not p.name.startswith(".") for p in out.iterdir())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        create_sampling("x", out, [str(tmp_path / "nope")])
