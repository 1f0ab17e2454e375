"""`steve1 quickstart`: the STEVE-1 shipped with the package following a prompt in the embedded Minetest
world, then the whole recipe end to end at small scale, in one command.

    steve1 quickstart                      # --scale quick: under 20 minutes on two CPU cores
    steve1 quickstart --scale ci           # the shortened form CI runs (a few minutes)
    steve1 quickstart --from-stage prior   # rerun from a stage (finished stages are skipped otherwise)

Outputs: <out>/01_shipped ... <out>/10_report, and <out>/report.md. Nothing is downloaded.
"""
from __future__ import annotations

import dataclasses
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from steve1.cli_config import UsageError, report, run_verb, settings_field
from steve1.quickstart.settings import SCALES, get_settings
from steve1.quickstart.stages import STAGE_NAMES
from steve1.utils.run_record import SettingsChanged, changed_settings, check_or_record, read_record

log = logging.getLogger("steve1.quickstart")

DEFAULT_OUT = Path("data/quickstart")
SETTINGS_FILE = "settings.json"


@dataclass
class QuickstartArgs:
    """The whole STEVE-1 recipe end to end, small, on the embedded Minetest world."""

    scale: str = settings_field(default="quick", choices=sorted(SCALES))
    """quick: the newcomer's run (the shipped agent in minutes, the whole recipe small in < 20 min on 2
    cores); ci: the shortened CI form"""
    out: Path | None = None
    """output folder (default: data/quickstart/<scale>)"""
    from_stage: str | None = settings_field(default=None, choices=[None, *STAGE_NAMES])
    """rerun this stage and every later one (finished stages are skipped otherwise)"""
    prompt: str | None = None
    """the text prompt of the agent stages (default: 'go explore')"""
    seed: int | None = None
    """seed of every stage (default: the scale's)"""
    shipped_agent: bool = True
    """run the shipped STEVE-1 first (--noshipped-agent: only the small run)"""
    device: str | None = None
    """cpu (default) or cuda"""


AGENT_ONLY_SETTINGS = ("prompt", "shipped_agent")  # settings only the agent stages (and the report) read
PROMPT_STAGES = ("shipped", "agent", "report")  # the stages a new prompt reruns


def _check_settings(out: Path, settings, from_stage: str | None) -> str | None:
    """An output folder belongs to one set of settings: refuse to mix two runs in it, except that a new
    --prompt reruns the agent stages on what is there. Returns the stage to rerun from."""
    current = dataclasses.asdict(settings)
    saved = read_record(out, SETTINGS_FILE)
    if saved is not None:
        changed = changed_settings(saved, current)
        if changed and not set(changed) <= set(AGENT_ONLY_SETTINGS):
            raise SettingsChanged(f"{out} was made with other settings ({', '.join(changed)} differ); use "
                                  f"another --out, or delete {out} to start over")
        if changed:
            log.info("new %s: rerunning the agent stages", ", ".join(changed))
            from steve1.quickstart.runner import DONE_FILE, stage_dir

            for i, name in enumerate(STAGE_NAMES):  # before the new settings are saved
                if name in PROMPT_STAGES:
                    (stage_dir(out, i, name) / DONE_FILE).unlink(missing_ok=True)
    check_or_record(out, current, redo=True, name=SETTINGS_FILE)
    return from_stage


def run(args: QuickstartArgs) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from steve1.quickstart.report import REPORT_FILE
    from steve1.quickstart.runner import run_stages
    from steve1.quickstart.stages import STAGES

    settings = get_settings(args.scale).with_overrides(prompt=args.prompt, seed=args.seed, device=args.device,
                                                        shipped_agent=args.shipped_agent)
    if not settings.prompt.strip():
        raise UsageError("--prompt is empty; give a short instruction such as 'look at the sky'")
    out = args.out or DEFAULT_OUT / settings.scale
    out.mkdir(parents=True, exist_ok=True)
    from_stage = _check_settings(out, settings, args.from_stage)
    records = run_stages(STAGES, out, settings, from_stage=from_stage)
    total = sum(r.seconds for r in records)
    lines = [f"\nquickstart ({settings.scale}) finished: {total:.0f} s of stage time; outputs in {out}/",
             f"{'stage':<10} {'seconds':>8}  {'':8} folder"]
    lines += [f"{r.name:<10} {r.seconds:8.1f}  {'(cached)' if r.skipped else '':8} {r.dir}" for r in records]
    summary = out / REPORT_FILE
    if summary.is_file():
        lines.append("\n" + summary.read_text())
    report("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(QuickstartArgs, run, argv, verb="quickstart")


if __name__ == "__main__":
    sys.exit(main())
