"""Results files and plots are written (atomically) and read back."""
import json

import numpy as np
import pytest

from steve1.eval.plots import plot_distance_matrix, plot_prompt_bars
from steve1.eval.results import group_values, mean_ci95, read_rows_csv, write_episode_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_mean_ci95_against_t_table():
    assert mean_ci95([1.0, 2.0, 3.0]) == pytest.approx((2.0, 4.303 * 1.0 / np.sqrt(3)), rel=1e-4)
    assert mean_ci95([5.0]) == (5.0, 0.0)
    x = np.arange(100.0)
    assert mean_ci95(x)[1] == pytest.approx(1.96 * x.std(ddof=1) / 10)
    with pytest.raises(ValueError, match="at least one"):
        mean_ci95([])


def test_csv_and_json_roundtrip(tmp_path):
    rows = [{"prompt": "dig", "seed": 0, "log": np.float64(1.0), "travel_dist": 3.5},
            {"prompt": "sky", "seed": 1, "log": 0.0, "dirt": np.int64(4)}]
    csv_path, json_path = write_episode_results(rows, tmp_path / "res" / "episodes")
    back = read_rows_csv(csv_path)
    assert list(back[0]) == ["prompt", "seed", "log", "travel_dist", "dirt"]
    assert back[1] == {"prompt": "sky", "seed": "1", "log": "0.0", "travel_dist": "", "dirt": "4"}
    assert json.loads(json_path.read_text())[1]["dirt"] == 4
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["episodes.csv", "episodes.json"]
    assert group_values(rows, "log", ["prompt"]) == {("dig",): [1.0], ("sky",): [0.0]}
    with pytest.raises(ValueError, match="no result rows"):
        write_episode_results([], tmp_path / "x")


def test_plots_written(tmp_path):
    values = {"dig": {"text prompt": [3, 4, 5], "unconditional": [0, 1, 0]},
              "wood": {"text prompt": [2, 2], "unconditional": [1]}}
    p = plot_prompt_bars(values, tmp_path / "bars.png", ylabel="dirt", title="dirt collected")
    assert p.read_bytes()[:8] == PNG_MAGIC and p.stat().st_size > 5000
    m = plot_distance_matrix(["a", "b"], ["a", "b", "c"], np.random.default_rng(0).random((2, 3)),
                             tmp_path / "m.png")
    assert m.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="expected"):
        plot_distance_matrix(["a"], ["a"], np.zeros((2, 2)), tmp_path / "bad.png")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bars.png", "m.png"]


def test_report_from_csv(tmp_path, capsys):
    from steve1.eval.report import main, summarize

    rows = [{"prompt": p, "agent": a, "episode": s, "log": float(s + (3 if a == "text" else 0)), "dirt": 1.0,
             "travel_dist": 2.0 * s}
            for p in ("wood", "dig") for a in ("text", "unconditional") for s in range(3)]
    summary = summarize(rows)
    wood_text = next(r for r in summary
                     if r["prompt"] == "wood" and r["agent"] == "text" and r["metric"] == "log")
    assert wood_text["n"] == 3 and wood_text["mean"] == pytest.approx(4.0)
    assert wood_text["ci95"] == pytest.approx(4.303 / np.sqrt(3), rel=1e-4)
    assert {r["metric"] for r in summary} == {"log", "dirt", "travel_dist"}  # absent "seed" metric skipped
    csv_path, _ = write_episode_results(rows, tmp_path / "episodes")
    assert main([str(csv_path), "--out_dir", str(tmp_path / "plots")]) == 0
    made = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert made == ["dirt.png", "log.png", "summary.csv", "summary.json", "travel_dist.png"]
    capsys.readouterr()
    assert main([str(csv_path), "--out_dir", str(tmp_path / "p2"), "--agent_key", "policy"]) == 2
    assert "no column(s) ['policy']" in capsys.readouterr().err and not (tmp_path / "p2").exists()


def test_error_bars_do_not_go_below_zero_for_non_negative_metrics():
    from steve1.eval.plots import error_bars

    means, (lower, upper) = error_bars([[0.0, 0.0, 30.0], [5.0, 5.2, 4.8], []])
    assert means[0] == pytest.approx(10.0) and upper[0] > 10.0  # the CI half-width is wider than the mean
    assert means[0] - lower[0] == pytest.approx(0.0)  # clipped at 0, not drawn below it
    assert lower[1] == pytest.approx(upper[1])  # a tight interval is untouched
    assert np.isnan(means[2]) and lower[2] == 0.0
    _, (lower, upper) = error_bars([[-3.0, 0.0, 30.0]])  # a metric that can be negative: symmetric
    assert lower[0] == pytest.approx(upper[0])
