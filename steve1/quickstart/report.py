"""The quickstart's closing report: what ran, for how long, where the outputs are, the metrics table."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from steve1.eval.metrics import METRIC_NAMES
from steve1.eval.report import summarize
from steve1.utils.atomic import atomic_write_text

REPORT_FILE = "report.md"


def _rel(path: str | Path, out: Path) -> str:
    """`path` relative to the output folder when inside it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path(out).resolve()))
    except ValueError:
        return str(path)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def stage_table(results: Mapping[str, Mapping], dirs: Mapping[str, Path]) -> list[str]:
    rows = []
    for name, d in dirs.items():
        r = results.get(name)
        secs = f"{r['seconds']:.1f}" if r else "(this stage)"
        note = r.get("note", "") if r else ""
        rows.append((name, secs, f"`{d.name}/`", note))
    return _table(("stage", "seconds", "folder", "note"), rows)


def metrics_table(rows: Sequence[Mapping]) -> list[str]:
    """One line per (agent, metric): mean ± 95 % CI over episodes."""
    summary = summarize(rows, METRIC_NAMES)
    out = [(s["agent"], s["metric"], s["n"], f"{s['mean']:.2f} ± {s['ci95']:.2f}") for s in summary]
    return _table(("agent", "metric", "episodes", "mean ± 95% CI"), out)


def write_report(out: Path, results: Mapping[str, Mapping], dirs: Mapping[str, Path], settings,
                 plots: Sequence[str]) -> Path:
    gen, lab = results.get("generate", {}), results.get("label", {})
    shipped, agent = results.get("shipped", {}), results.get("agent", {})
    lines = [f"# steve1 quickstart ({settings.scale})", ""]
    if shipped.get("rows"):
        lines += [f"## The shipped STEVE-1: '{shipped['prompt']}' (guidance {shipped['cond_scale']}) vs "
                  f"unprompted", "", f"{shipped.get('note', '')}.", "", *metrics_table(shipped["rows"]), "",
                  "Videos: " + ", ".join(f"`{_rel(v, out)}`" for v in shipped.get("outputs", [])
                                         if str(v).endswith(".mp4")), ""]
    lines += ["## Your small run of the recipe", "",
              "**Read first:** its MineCLIP, policy and prior are " + results.get("agent", {}).get(
                  "note", "trained in this run for minutes") + "; the steerability of the recipe at full "
              "size is measured by `python -m benchmarks.steerability` on the shipped models.", ""]
    total = sum(r.get("seconds", 0.0) for r in results.values())
    lines += ["### Stages", "", *stage_table(results, dirs), "",
              f"Total before this report: {total:.0f} s.", ""]
    lines += ["### What was made", "",
              f"- episodes: {gen.get('episodes')} ({gen.get('frames')} frames, {gen.get('agents')}) in "
              f"`{dirs['generate'].name}/episodes/`",
              f"- MineCLIP: `{_rel(results.get('mineclip', {}).get('mineclip', ''), out)}`",
              f"- prior pairs: {lab.get('n_pairs')} captioned clips {lab.get('per_label')} in "
              f"`{dirs['label'].name}/data.pkl`",
              f"- policy: `{_rel(results.get('train', {}).get('policy_weights', ''), out)}`; prior: "
              f"`{_rel(results.get('prior', {}).get('prior_weights', ''), out)}`",
              "- videos: " + ", ".join(f"`{_rel(v, out)}`" for v in agent.get("outputs", [])
                                        if str(v).endswith(".mp4")),
              "- plots: " + ", ".join(f"`{_rel(p, out)}`" for p in plots if p.endswith(".png")),
              ""]
    mc, tr, pr = results.get("mineclip", {}), results.get("train", {}), results.get("prior", {})
    if mc.get("first_loss") is not None:
        lines += [f"MineCLIP: {mc['steps']} contrastive steps, loss {mc['first_loss']:.2f} -> "
                  f"{mc['last_loss']:.2f} (first/last fifth).", ""]
    if tr.get("first_loss") is not None:
        lines += [f"Policy: {tr['frames']} frames, {tr['updates']} updates, training loss "
                  f"{tr['first_loss']:.2f} -> {tr['last_loss']:.2f} (first/last tenth).", ""]
    if pr.get("best_val_loss") is not None:
        lines += [f"Prior: {pr['pairs']} pairs, training loss {pr['first_train_loss']:.3f} -> "
                  f"{pr['last_train_loss']:.3f}, best validation {pr['best_val_loss']:.3f} "
                  f"(epoch {pr['best_epoch']}).", ""]
    if agent.get("rows"):
        lines += [f"### Your small agent: '{agent['prompt']}' (guidance {agent['cond_scale']}) vs unprompted",
                  "", *metrics_table(agent["rows"]), ""]
    path = Path(out) / REPORT_FILE
    atomic_write_text(path, "\n".join(lines))
    return path
