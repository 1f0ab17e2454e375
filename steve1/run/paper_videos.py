"""The paper's videos (script 1, `steve1 paper-videos`): 11 prompts, text then visual, 3,000-step episodes.

    steve1 paper-videos [--world minetest|minerl] [--steps 3000] [--n-worlds 4]

Defaults are the paper's settings (11 prompts x {text, visual}, 3,000 steps, guidance 6.0 text / 7.0 visual,
128x128 videos at 30 fps) in the embedded Minetest world; `--world minerl` runs them in real Minecraft.
Names as the original: `'<name>' - Text Prompt.mp4` and `<name> - Visual Prompt.mp4` in `--out-dir`; an
existing video is skipped, so an interrupted run resumes; the settings that shape the videos are recorded in
`--out-dir`/run_settings.json, and a rerun with other ones stops (pass --overwrite to remake the videos).
Each episode also writes `<stem>.csv/.json` (its programmatic metrics), and `episodes.csv/.json` collect all.

Differences from the original (fixes): a crashed world is retried inside the program (the original's
shell script restarted the whole program in a loop); one set of models and worlds serves every video (the
original rebuilt MineCLIP, the agent and a new MineRL process per video and never closed them); world seeds
are set (--seed + prompt index, before the reset); text goals are one prior sample per prompt per run, as
the original, but from a seeded generator.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steve1 import paths
from steve1.agent.goals import (
    PAPER_TEXT_PROMPTS,
    text_goals,
    visual_goal_from_pickle,
)
from steve1.agent.guidance import fill_guidance
from steve1.agent.models import AgentModels
from steve1.cli_config import UsageError, report, run_verb, settings_field
from steve1.run.common import (
    BatchedWorldSettings,
    ModelSettings,
    build_models,
    check_positive,
    check_run_settings,
    existing,
    generator,
    setup_logging,
)
from steve1.run.episodes import EpisodeJob, GoalPlan
from steve1.run.videos import (
    VIDEO_OUTPUT_SETTINGS,
    VideoSettings,
    check_output_settings,
    pending_jobs,
    run_video_jobs,
)

DEFAULT_OUT = paths.GENERATED_VIDEOS_DIR / "paper_prompts"
KINDS = ("text", "visual")
_NO_GOAL = np.zeros((1, 1), np.float32)  # placeholder goal of a job only listed, never run


@dataclass
class PaperVideoSettings(ModelSettings, BatchedWorldSettings, VideoSettings):
    """The paper's 11 text and visual prompt videos (3,000-step episodes, guidance 6.0 text / 7.0 visual)."""

    steps: int = settings_field(default=3000, alias=["--gameplay-length"])
    """steps per episode (paper: 3000)"""
    out_dir: Path = settings_field(default=DEFAULT_OUT, alias=["--save-dirpath"])
    """where videos and results go"""
    prompts: str = ",".join(PAPER_TEXT_PROMPTS)
    """comma-separated paper prompt names (default: all 11)"""
    kinds: str = "text,visual"
    """text, visual or both (comma-separated)"""
    text_cond_scale: float | None = None
    """guidance scale of the text prompts (default: the policy's own, else 6)"""
    visual_cond_scale: float | None = None
    """guidance scale of the visual prompts (default: the policy's own, else 7)"""
    visual_prompts_dir: Path = paths.VISUAL_PROMPT_EMBEDS_DIR
    """folder of the released <name>.pkl visual prompts"""

    def __post_init__(self):
        fill_guidance(self, "text_cond_scale", "visual_cond_scale")
        check_positive(self.steps, "--steps")
        check_positive(self.n_worlds, "--n-worlds")
        _split(self.prompts, PAPER_TEXT_PROMPTS, "--prompts")
        _split(self.kinds, KINDS, "--kinds")


def _split(value: str, allowed, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if not items or bad:
        raise UsageError(f"{what}: unknown {bad or 'empty list'}; choose from {', '.join(allowed)}")
    return items


def video_name(name: str, kind: str) -> str:
    """The original's file stems: `'<name>' - Text Prompt` and `<name> - Visual Prompt`."""
    return f"'{name}' - Text Prompt" if kind == "text" else f"{name} - Visual Prompt"


def build_jobs(args: PaperVideoSettings, models: AgentModels | None) -> list[EpisodeJob]:
    """Jobs for the selected prompts and kinds. With models=None goals are left empty (for listing)."""
    names = _split(args.prompts, PAPER_TEXT_PROMPTS, "--prompts")
    kinds = _split(args.kinds, KINDS, "--kinds")
    goals: dict[tuple[str, str], GoalPlan] = {}
    if models is not None:
        todo = [(n, k) for k in kinds for n in names
                if args.overwrite or not existing(args.out_dir / f"{video_name(n, k)}.mp4")]
        text_names = [n for n, k in todo if k == "text"]
        if text_names:
            embeds = text_goals([PAPER_TEXT_PROMPTS[n] for n in text_names], models.embedder, models.prior,
                                generator(args.seed))
            for n, e in zip(text_names, embeds, strict=True):
                goals[(n, "text")] = GoalPlan.single(e, PAPER_TEXT_PROMPTS[n])
        for n, k in todo:
            if k == "visual":
                embed = visual_goal_from_pickle(n, dim=models.goal_dim, directory=args.visual_prompts_dir)
                goals[(n, k)] = GoalPlan.single(embed, f"visual: {n}")
    random_weights = models is not None and models.random_weights
    return [_job(args, n, k, goals.get((n, k)), random_weights) for k in kinds for n in names]


def _job(args, name: str, kind: str, plan: GoalPlan | None, random_weights: bool) -> EpisodeJob:
    stem = video_name(name, kind)
    scale = args.text_cond_scale if kind == "text" else args.visual_cond_scale
    seed = args.seed + list(PAPER_TEXT_PROMPTS).index(name)
    plan = plan or GoalPlan.single(_NO_GOAL, "")
    return EpisodeJob(key=stem, plan=plan, cond_scale=scale, n_steps=args.steps, seed=seed,
                      meta={"prompt": name, "agent": kind, "text": PAPER_TEXT_PROMPTS[name],
                            "cond_scale": scale, "world": args.world, "random_weights": random_weights},
                      video_path=args.out_dir / f"{stem}.mp4", overlay_prompt=False)


def run(args: PaperVideoSettings) -> int:
    setup_logging()
    check_run_settings(args)  # before any model loads or world starts
    check_output_settings(args, (*VIDEO_OUTPUT_SETTINGS, "text_cond_scale", "visual_cond_scale",
                                 "visual_prompts_dir"))
    jobs = build_jobs(args, None)
    if not pending_jobs(jobs, redo=args.overwrite):
        report(f"all {len(jobs)} videos already exist in {args.out_dir}")
        return 0
    models = build_models(args)
    jobs = pending_jobs(build_jobs(args, models), redo=args.overwrite)
    return run_video_jobs(args, models, jobs, args.out_dir)


def main(argv: list[str] | None = None) -> int:
    return run_verb(PaperVideoSettings, run, argv, verb="paper-videos")


if __name__ == "__main__":
    sys.exit(main())
