"""Evaluation runs on a fake world with tiny random-weight models: rows, MineCLIP distances, chains, plots,
resuming."""
from __future__ import annotations

import json

import numpy as np
import pytest

from steve1.agent import load_agent_models
from steve1.eval import report
from steve1.eval.mineclip_eval import min_cosine_distance
from steve1.eval.results import read_rows_csv
from steve1.run import evaluate
from tests.agent_fakes import TINY_RUN_ARGS as TINY
from tests.agent_fakes import use_fake_worlds


@pytest.fixture
def fake_worlds(monkeypatch):
    return use_fake_worlds(monkeypatch)


def test_evaluation_rows_distances_plots_and_resume(tmp_path, fake_worlds):
    out = tmp_path / "eval"
    args = ["--prompts", "wood,sky", "--agents", "text,unconditional", "--chain", "wooden_planks",
            "--switch-step", "17", "--episodes", "1", "--steps", "20", "--n-worlds", "3",
            "--out-dir", str(out),
            *TINY]
    assert evaluate.main(args) == 0
    rows = read_rows_csv(out / "results.csv")
    kinds = sorted((r["agent"], r["prompt"], r["episode_index"]) for r in rows)
    assert kinds == sorted([(a, p, "0") for a in ("text", "unconditional") for p in ("wood", "sky")]
                           + [("chain", "wooden_planks", "0")])
    assert {r["world_seed"] for r in rows} == {"0"}  # paired: episode k of every agent in world seed k
    # the MineCLIP distance is recomputable from the stored windows and the prompt's text embedding
    models = load_agent_models("tiny", mineclip="tiny", random_weights=True, seed=0)
    row = next(r for r in rows if r["agent"] == "text" and r["prompt"] == "sky" and r["episode_index"] == "0")
    windows = np.load(out / "episodes" / "text__sky__0.npy")
    assert windows.shape == (5, 512)
    want = min_cosine_distance(models.embedder.embed_text("look at the sky"), windows, dim=512)
    assert float(row["mineclip_dist"]) == pytest.approx(want, rel=1e-5)
    chain = next(r for r in rows if r["agent"] == "chain")
    assert chain["mineclip_dist_0"] and chain["mineclip_dist_1"] and not chain["mineclip_dist"]
    for name in ("log", "dirt", "seed", "travel_dist", "mineclip_dist", "mineclip_matrix_text"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 1000
    summary = json.loads((out / "plots" / "summary.json").read_text())
    assert {(s["prompt"], s["agent"]) for s in summary} >= {("wood", "text"), ("wood", "unconditional")}
    assert ("wooden_planks", "chain", "mineclip_dist_1") in {(s["prompt"], s["agent"], s["metric"])
                                                           for s in summary}
    # `steve1 eval-report` on the results file summarises them the same way
    assert report.main([str(out / "results.csv"), "--out-dir", str(tmp_path / "rep")]) == 0
    again = json.loads((tmp_path / "rep" / "summary.json").read_text())
    key = ("prompt", "agent", "metric", "n")
    assert [tuple(r[k] for k in key) for r in again] == [tuple(r[k] for k in key) for r in summary]
    assert [r["mean"] for r in again] == pytest.approx([r["mean"] for r in summary], rel=1e-6)

    resets = sum(1 for e in fake_worlds if e[0] == "reset")
    assert resets == 2 + 1 + 1  # 2 prompts + unconditional (scored against both) + chain
    (out / "episodes" / "text__wood__0.json").unlink()
    assert evaluate.main(args) == 0  # only the missing episode runs again
    assert sum(1 for e in fake_worlds if e[0] == "reset") == resets + 1
    assert len(read_rows_csv(out / "results.csv")) == len(rows)


def test_evaluation_rejects_bad_choices(tmp_path, fake_worlds, capsys):
    assert evaluate.main(["--agents", "text,telepathic", "--out-dir", str(tmp_path), *TINY]) == 2
    assert "unknown ['telepathic']" in capsys.readouterr().err
    assert evaluate.main(["--custom-prompt", " ", "--out-dir", str(tmp_path), *TINY]) == 2
    err = capsys.readouterr().err
    assert "empty" in err and len(err.strip().splitlines()) == 1


def test_runners_set_torch_threads_for_cores_the_games_share(tmp_path, fake_worlds, capsys):
    """Every runner takes --threads (default 1: on cores the games share more threads only wait for each
    other); the models run with that many, and a negative count is a one-line error."""
    import torch

    from steve1.utils.threads import WORLD_TORCH_THREADS

    assert evaluate.EvaluateSettings().threads == WORLD_TORCH_THREADS == 1
    torch.set_num_threads(2)
    args = ["--agents", "text", "--episodes", "1", "--steps", "2", "--out-dir", str(tmp_path / "a"), *TINY]
    assert evaluate.main(args) == 0 and torch.get_num_threads() == 1
    capsys.readouterr()
    assert evaluate.main(["--threads", "-1", "--out-dir", str(tmp_path / "b"), *TINY]) == 2
    err = capsys.readouterr().err
    assert "--threads" in err and len(err.strip().splitlines()) == 1


def test_evaluation_refuses_other_settings_in_the_same_folder(tmp_path, fake_worlds, capsys):
    """`--steps 2` on a folder of 3-step episodes does not report them as done: it refuses, naming
    --overwrite, which reruns them."""
    out = tmp_path / "eval"
    args = ["--prompts", "wood", "--agents", "text", "--no-mineclip-eval", "--out-dir", str(out), *TINY]
    assert evaluate.main([*args, "--steps", "3"]) == 0
    capsys.readouterr()
    n_resets = sum(1 for e in fake_worlds if e[0] == "reset")
    assert evaluate.main([*args, "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "steps 3 -> 2" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert sum(1 for e in fake_worlds if e[0] == "reset") == n_resets
    assert evaluate.main([*args, "--steps", "2", "--overwrite"]) == 0
    assert sum(1 for e in fake_worlds if e[0] == "reset") == n_resets + 1
    assert {r["steps"] for r in read_rows_csv(out / "results.csv")} == {"2"}


def test_custom_prompt_runs_only_that_prompt(tmp_path, fake_worlds):
    out = tmp_path / "eval"
    assert evaluate.main(["--custom-prompt", "dig a hole", "--agents", "text", "--steps", "2",
                          "--no-mineclip-eval", "--out-dir", str(out), *TINY]) == 0
    assert {r["prompt"] for r in read_rows_csv(out / "results.csv")} == {"dig a hole"}
    assert sum(1 for e in fake_worlds if e[0] == "reset") == 1
