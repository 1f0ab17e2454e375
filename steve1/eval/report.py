"""From per-episode result rows (or their CSV) to a summary table and one bar plot per metric.

Rows hold a prompt column, an agent column (e.g. "text prompt", "visual prompt", "unconditional") and metric
columns (`steve1.eval.metrics.METRIC_NAMES`). `steve1 eval-report episodes.csv --out-dir DIR`.
"""
from __future__ import annotations

import csv
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from steve1.cli_config import UsageError, report, run_verb, settings_field
from steve1.eval.metrics import METRIC_NAMES, WORLD_METRIC_NAMES
from steve1.eval.plots import plot_prompt_bars
from steve1.eval.results import group_values, mean_ci95, read_rows_csv, write_episode_results
from steve1.utils.checks import check_writable_dir

UNCONDITIONAL_AGENT = "unconditional"  # the zero-goal baseline the paper compares against
MINECLIP_METRIC = "mineclip_dist"  # and mineclip_dist_<i>: per prompt of a chain


def result_metrics(rows: Sequence[Mapping]) -> list[str]:
    """The metric columns of result rows: the programmatic ones, the world metrics (sky_steps, ...) and the
    MineCLIP distances (a chain's segments as mineclip_dist_<i>) that some row holds. The one list every
    summary of results uses."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    mineclip = [c for c in columns if c == MINECLIP_METRIC or re.fullmatch(rf"{MINECLIP_METRIC}_\d+", c)]
    world = [c for c in WORLD_METRIC_NAMES if c in columns]
    return list(METRIC_NAMES) + world + sorted(mineclip, key=lambda c: (len(c), c))


def summarize(rows: Sequence[Mapping], metrics: Sequence[str] | None = None, prompt_key: str = "prompt",
              agent_key: str = "agent") -> list[dict]:
    """One row per (prompt, agent, metric): n episodes, mean, 95 % CI half-width. Absent metrics skipped.
    metrics: default `result_metrics(rows)`."""
    metrics = result_metrics(rows) if metrics is None else metrics
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


def plot_results(rows: Sequence[Mapping], out_dir: str | Path, metrics: Sequence[str] | None = None,
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


@dataclass
class ReportSettings:
    """Summary table (mean, 95 % CI per prompt and agent) and one bar plot per metric from an episodes CSV."""

    results_csv: Path = settings_field(positional=True)
    """per-episode rows (e.g. an `episodes.csv` or `results.csv` of run-agent, paper-videos, evaluate)"""
    out_dir: Path = Path("plots")
    """where summary.csv/json and the plots go"""
    prompt_key: str = "prompt"
    """the column naming the prompt"""
    agent_key: str = "agent"
    """the column naming the agent"""


def run(args: ReportSettings) -> int:
    if not Path(args.results_csv).is_file():
        raise FileNotFoundError(f"{args.results_csv} not found")
    try:
        rows = read_rows_csv(args.results_csv)
    except (UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{args.results_csv} is not a readable CSV ({e})") from None
    missing = [k for k in (args.prompt_key, args.agent_key) if rows and k not in rows[0]]
    if not rows or missing:
        raise UsageError(f"{args.results_csv}: {'no rows' if not rows else f'no column(s) {missing}'}; "
                         f"expected per-episode rows with prompt, agent and metric columns")
    check_writable_dir(args.out_dir, "--out-dir")
    try:
        paths = plot_results(rows, args.out_dir, prompt_key=args.prompt_key, agent_key=args.agent_key)
    except ValueError as err:
        raise UsageError(f"{args.results_csv}: {err}") from None
    report(f"summary and {len(paths) - 2} plots in {args.out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(ReportSettings, run, argv, verb="eval-report")


if __name__ == "__main__":
    sys.exit(main())
