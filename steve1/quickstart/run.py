"""`steve1 quickstart`: the whole STEVE-1 recipe end to end on the embedded Minetest world, in one command.

    steve1 quickstart                      # --scale quick: under 20 minutes on two CPU cores
    steve1 quickstart --scale ci           # the shortened form CI runs (a few minutes)
    steve1 quickstart --from-stage prior   # rerun from a stage (finished stages are skipped otherwise)

Outputs: <out>/01_generate ... <out>/07_report, and <out>/report.md. Released weights under data/weights/
(./download_weights.sh) are used instead of training from scratch where they apply.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from steve1.quickstart.settings import SCALES, get_settings

DEFAULT_OUT = Path("data/quickstart")
SETTINGS_FILE = "settings.json"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from steve1.quickstart.stages import STAGE_NAMES

    parser.add_argument("--scale", default="quick", choices=sorted(SCALES),
                        help="quick: the newcomer's run (< 20 min on 2 cores); ci: the shortened CI form")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default {DEFAULT_OUT}/<scale>)")
    parser.add_argument("--from-stage", dest="from_stage", choices=STAGE_NAMES, default=None,
                        help="rerun this stage and every later one")
    parser.add_argument("--prompt", default=None, help="the text prompt of the agent stage")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--weights-dir", dest="weights_dir", default=None,
                        help="where the released weights are (default data/weights)")
    parser.add_argument("--mineclip", default=None,
                        help="auto (default): the released attn.pth when present, else a tiny seeded model; "
                             "released; tiny; or the path of a MineCLIP of ours (steve1 train-mineclip). "
                             "The released one embeds about 1 frame/s on two CPU cores, far over 20 minutes")
    parser.add_argument("--device", default=None, help="cpu (default) or cuda")
    parser.set_defaults(run=run)
    return parser


AGENT_ONLY_SETTINGS = ("prompt",)  # settings only the agent stage (and the report) read


def _check_settings(out: Path, settings, from_stage: str | None) -> str | None:
    """An output folder belongs to one set of settings: refuse to mix two runs in it, except that a new
    --prompt reruns the agent stage on what is there. Returns the stage to rerun from."""
    import dataclasses

    from steve1.utils.atomic import atomic_write_text

    path = out / SETTINGS_FILE
    current = dataclasses.asdict(settings)
    if path.is_file():
        saved = json.loads(path.read_text())
        changed = sorted(k for k in current if saved.get(k) != current[k])
        if changed and not set(changed) <= set(AGENT_ONLY_SETTINGS):
            raise SystemExit(f"error: {out} was made with other settings ({', '.join(changed)} differ); use "
                             f"another --out, or delete {out} to start over")
        if changed:
            print(f"new {', '.join(changed)}: rerunning from the agent stage", file=sys.stderr)
            from steve1.quickstart.runner import DONE_FILE, stage_dir
            from steve1.quickstart.stages import STAGE_NAMES

            first = STAGE_NAMES.index("agent")
            if from_stage is None or STAGE_NAMES.index(from_stage) > first:
                from_stage = "agent"
            for i in range(first, len(STAGE_NAMES)):  # before the new settings are saved
                (stage_dir(out, i, STAGE_NAMES[i]) / DONE_FILE).unlink(missing_ok=True)
    atomic_write_text(path, json.dumps(current, indent=1))
    return from_stage


def run(args: argparse.Namespace) -> int:
    from steve1.quickstart.report import REPORT_FILE
    from steve1.quickstart.runner import run_stages
    from steve1.quickstart.stages import STAGES

    settings = get_settings(args.scale).with_overrides(prompt=args.prompt, seed=args.seed,
                                                        weights_dir=args.weights_dir, device=args.device,
                                                        mineclip=args.mineclip)
    if not settings.prompt.strip():
        raise SystemExit("error: --prompt is empty; give a short instruction such as 'chop a tree'")
    try:
        settings.released_mineclip()  # checks --mineclip against the files on disk
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    out = args.out or DEFAULT_OUT / settings.scale
    out.mkdir(parents=True, exist_ok=True)
    from_stage = _check_settings(out, settings, args.from_stage)
    records = run_stages(STAGES, out, settings, from_stage=from_stage)
    total = sum(r.seconds for r in records)
    print(f"\nquickstart ({settings.scale}) finished: {total:.0f} s of stage time; outputs in {out}/")
    print(f"{'stage':<10} {'seconds':>8}  {'':8} folder")
    for r in records:
        print(f"{r.name:<10} {r.seconds:8.1f}  {'(cached)' if r.skipped else '':8} {r.dir}")
    report = out / REPORT_FILE
    if report.is_file():
        print("\n" + report.read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="steve1 quickstart", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
