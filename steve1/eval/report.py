"""From per-episode result rows (or their CSV) to a summary table and one bar plot per metric.

Rows hold a prompt column, an agent column (e.g. "text prompt", "visual prompt", "unconditional") and metric
columns (`steve1.eval.metrics.METRIC_NAMES`). `python -m steve1.eval.report episodes.csv --out_dir DIR`.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from steve1.eval.metrics import METRIC_NAMES
from steve1.eval.plots import plot_prompt_bars
from steve1.eval.results import group_values, mean_ci95, read_rows_csv, write_episode_results
from steve1.utils.cli import check_writable_dir, run_verb

UNCONDITIONAL_AGENT = "unconditional"  # the zero-goal baseline the paper compares against


def summarize(rows: Sequence[Mapping], metrics: Sequence[str] = METRIC_NAMES, prompt_key: str = "prompt",
              agent_key: str = "agent") -> list[dict]:
    """One row per (prompt, agent, metric): n episodes, mean, 95 % CI half-width. Absent metrics skipped."""
    present = [m for m in metrics if any(m in r and r[m] not in ("", None) for r in rows)]
    if not present:
        raise ValueError(f"none of the metrics {list(metrics)} is in the rows")
    out = []
    for metric in present:
        usable = [r for r in rows if r.get(metric) not in ("", None)]
        for (prompt, agent), vals in group_values(usable, metric, [prompt_key, agent_key]).items():
            mean, ci = mean_ci95(vals)
            out.append({prompt_key: prompt, agent_key: agent, "metric": metric, "n": len(vals),
                        "mean": mean, "ci95": ci})
    return out


def plot_results(rows: Sequence[Mapping], out_dir: str | Path, metrics: Sequence[str] = METRIC_NAMES,
                 prompt_key: str = "prompt", agent_key: str = "agent") -> list[Path]:
    """Write `<out_dir>/<metric>.png` (per-prompt bars per agent, 95 % CI) and `<out_dir>/summary.{csv,json}`.

    Note: "seed" is a metric (seeds collected); name a world-seed column e.g. "world_seed"."""
    out_dir = Path(out_dir)
    summary = summarize(rows, metrics, prompt_key, agent_key)
    paths = list(write_episode_results(summary, out_dir / "summary"))
    for metric in dict.fromkeys(s["metric"] for s in summary):
        usable = [r for r in rows if r.get(metric) not in ("", None)]
        grouped: dict[str, dict[str, list[float]]] = {}
        for (prompt, agent), vals in group_values(usable, metric, [prompt_key, agent_key]).items():
            grouped.setdefault(str(prompt), {})[str(agent)] = vals
        paths.append(plot_prompt_bars(grouped, out_dir / f"{metric}.png", ylabel=metric,
                                      title=f"{metric} (mean, 95% CI)"))
    return paths


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results_csv", type=Path)
    p.add_argument("--out_dir", type=Path, required=True)
    p.add_argument("--prompt_key", default="prompt")
    p.add_argument("--agent_key", default="agent")


def run(args: argparse.Namespace) -> int:
    if not args.results_csv.is_file():
        raise FileNotFoundError(f"{args.results_csv} does not exist")
    try:
        rows = read_rows_csv(args.results_csv)
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{args.results_csv} is not a readable CSV ({e})") from None
    missing = [k for k in (args.prompt_key, args.agent_key) if rows and k not in rows[0]]
    if not rows or missing:
        raise ValueError(f"{args.results_csv}: {'no rows' if not rows else f'no column(s) {missing}'}; "
                         f"expected per-episode rows with prompt, agent and metric columns")
    check_writable_dir(args.out_dir, "--out_dir")
    for path in plot_results(rows, args.out_dir, prompt_key=args.prompt_key, agent_key=args.agent_key):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb("steve1 eval-report", "Summarise and plot per-episode evaluation results.", add_arguments,
                    run, argv)


if __name__ == "__main__":
    sys.exit(main())
