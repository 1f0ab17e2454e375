"""One goal -> a video with the prompt drawn on it, plus its metrics (script 2, `steve1 run-agent`).

    python -m steve1.run.prompt_video --prompt "look at the sky" [--steps 1000] [--world minetest]
    python -m steve1.run.prompt_video --visual wood            # data/visual_prompt_embeds/wood.pkl
    python -m steve1.run.prompt_video --visual clip.mp4        # MineCLIP of the clip's last 16 frames
    python -m steve1.run.prompt_video --unconditional

Output: `<out-dir>/'<prompt>' - Text Prompt.mp4` (the original's name; `<name> - Visual Prompt.mp4`,
`unconditional.mp4`) and `<stem>.csv` / `<stem>.json` with the episode's metrics. An existing video is
skipped. With --episodes N > 1 the names end in ` (episode k)`, and world seeds are --seed + k.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from steve1 import paths
from steve1.agent.goals import (
    TEXT_COND_SCALE,
    VISUAL_COND_SCALE,
    check_prompt,
    text_goal,
    visual_goal_from_frames,
    visual_goal_from_pickle,
    zero_goal,
)
from steve1.agent.models import AgentModels
from steve1.eval.video import read_video
from steve1.run.common import (
    add_model_arguments,
    add_world_arguments,
    build_models,
    check_positive,
    friendly_errors,
    generator,
    parse_and_run,
    safe_file_name,
    setup_logging,
)
from steve1.run.episodes import EpisodeJob, GoalPlan
from steve1.run.videos import add_video_arguments, run_video_jobs

DEFAULT_OUT = paths.GENERATED_VIDEOS_DIR / "custom_text_prompt"
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    goal = parser.add_mutually_exclusive_group()
    goal.add_argument("--prompt", "--custom_text_prompt", help="text prompt (default: 'look at the sky')")
    goal.add_argument("--visual", help="visual prompt: a paper name (wood, ...), a .pkl embedding, or a "
                                       "video clip (its last 16 frames are embedded with MineCLIP)")
    goal.add_argument("--unconditional", action="store_true", help="no goal (the zero goal embedding)")
    parser.add_argument("--cond-scale", type=float, default=None,
                        help=f"guidance scale (default {TEXT_COND_SCALE} text, {VISUAL_COND_SCALE} visual, "
                             "0 unconditional)")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to run (seeds --seed + k)")
    parser.add_argument("--no-overlay", action="store_true", help="do not draw the prompt on the video")
    add_video_arguments(parser, default_steps=1000, default_out=DEFAULT_OUT)
    add_model_arguments(parser)
    add_world_arguments(parser)


def goal_of(args: argparse.Namespace, models: AgentModels) -> tuple[GoalPlan, float, str, str]:
    """(plan, cond scale, video name, agent kind) from the goal arguments."""
    if args.unconditional:
        return GoalPlan.single(zero_goal(models.goal_dim), "unconditional"), 0.0, "unconditional", \
            "unconditional"
    if args.visual:
        source = Path(args.visual)
        if source.suffix.lower() in VIDEO_EXTENSIONS:
            embed = visual_goal_from_frames(read_video(source), models.embedder)
        else:
            embed = visual_goal_from_pickle(args.visual, dim=models.goal_dim)
        name = source.stem
        plan = GoalPlan.single(embed, f"visual: {name}")
        return plan, VISUAL_COND_SCALE, f"{name} - Visual Prompt", "visual"
    prompt = check_prompt(args.prompt if args.prompt is not None else "look at the sky")
    embed = text_goal(prompt, models.embedder, models.prior, generator(args.seed))
    plan = GoalPlan.single(embed, prompt)
    return plan, TEXT_COND_SCALE, f"'{safe_file_name(prompt)}' - Text Prompt", "text"


@friendly_errors
def run(args: argparse.Namespace) -> int:
    setup_logging()
    check_positive(args.steps, "--steps")
    check_positive(args.episodes, "--episodes")
    if args.prompt is not None:
        check_prompt(args.prompt)
    models = build_models(args)
    plan, scale, name, kind = goal_of(args, models)
    scale = scale if args.cond_scale is None else args.cond_scale
    jobs = []
    for k in range(args.episodes):
        stem = name if args.episodes == 1 else f"{name} (episode {k})"
        jobs.append(EpisodeJob(key=stem, plan=plan, cond_scale=scale, n_steps=args.steps, seed=args.seed + k,
                               meta={"prompt": plan.labels[0], "agent": kind, "cond_scale": scale,
                                     "world": args.world, "random_weights": models.random_weights},
                               video_path=args.out_dir / f"{stem}.mp4", overlay_prompt=not args.no_overlay))
    return run_video_jobs(args, models, jobs, args.out_dir)


def main(argv: list[str] | None = None) -> int:
    return parse_and_run("python -m steve1.run.prompt_video", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
