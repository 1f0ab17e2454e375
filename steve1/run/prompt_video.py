"""One goal -> a video with the prompt drawn on it, plus its metrics (script 2, `steve1 run-agent`).

    steve1 run-agent --prompt "look at the sky" [--steps 1000] [--world minetest]
    steve1 run-agent --visual wood            # data/visual_prompt_embeds/wood.pkl
    steve1 run-agent --visual clip.mp4        # MineCLIP of the clip's last 16 frames (or a frames folder)
    steve1 run-agent --visual EPISODE_DIR@200 # the embedding the episode stored for frames 185..200
    steve1 run-agent --unconditional

Output: `<out-dir>/'<prompt>' - Text Prompt.mp4` (the original's name; `<name> - Visual Prompt.mp4`,
`unconditional.mp4`) and `<stem>.csv` / `<stem>.json` with the episode's metrics. An existing video is
skipped; a rerun of the same prompt with other settings (model, steps, ...; kept in `<name>.settings.json`)
stops unless --overwrite.
With --episodes N > 1 the names end in ` (episode k)`, and world seeds are --seed + k.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from steve1 import paths
from steve1.agent.goals import (
    check_prompt,
    text_goal,
    visual_goal,
    visual_prompt_name,
    zero_goal,
)
from steve1.agent.guidance import policy_guidance
from steve1.agent.models import AgentModels
from steve1.cli_config import check, run_verb, settings_field
from steve1.run.common import (
    BatchedWorldSettings,
    ModelSettings,
    build_models,
    check_positive,
    check_run_settings,
    generator,
    safe_file_name,
    setup_logging,
)
from steve1.run.episodes import EpisodeJob, GoalPlan
from steve1.run.videos import VIDEO_OUTPUT_SETTINGS, VideoSettings, check_output_settings, run_video_jobs

DEFAULT_OUT = paths.GENERATED_VIDEOS_DIR / "custom_text_prompt"


@dataclass
class PromptVideoSettings(ModelSettings, BatchedWorldSettings, VideoSettings):
    """A video (+ metrics) of the agent following one prompt: text, visual or none."""

    steps: int = settings_field(default=1000, alias=["--gameplay-length"])
    """steps per episode"""
    out_dir: Path = settings_field(default=DEFAULT_OUT, alias=["--save-dirpath"])
    """where videos and results go"""
    prompt: str | None = settings_field(default=None, alias=["--custom-text-prompt"])
    """text prompt (default: 'look at the sky')"""
    visual: str | None = None
    """visual prompt: a name in --visual-prompts-dir (wood, ...), a .pkl embedding, a video clip or folder
    of frames (its last 16 frames are embedded with MineCLIP), or EPISODE_DIR@STEP (a stored embedding)"""
    visual_prompts_dir: Path = paths.VISUAL_PROMPT_EMBEDS_DIR
    """where --visual NAME is found as NAME.pkl (Minetest ones: steve1/weights/minetest/visual_prompts)"""
    unconditional: bool = False
    """no goal (the zero goal embedding)"""
    cond_scale: float | None = None
    """guidance scale (default: 0 unconditional, else the policy's own text or visual scale, from its
    <weights>.guidance.json, else 6 text and 7 visual)"""
    episodes: int = 1
    """episodes to run (world seeds --seed + k)"""
    no_overlay: bool = False
    """do not draw the prompt on the video"""

    def __post_init__(self):
        goals = [n for n, on in (("--prompt", self.prompt is not None), ("--visual", self.visual is not None),
                                 ("--unconditional", self.unconditional)) if on]
        check(len(goals) <= 1, f"give one goal, not {' and '.join(goals)}")
        check_positive(self.steps, "--steps")
        check_positive(self.episodes, "--episodes")
        check_positive(self.n_worlds, "--n-worlds")


def goal_of(args: PromptVideoSettings, models: AgentModels) -> tuple[GoalPlan, float, str, str]:
    """(plan, cond scale, video name, agent kind) from the goal arguments."""
    if args.unconditional:
        return GoalPlan.single(zero_goal(models.goal_dim), "unconditional"), 0.0, "unconditional", \
            "unconditional"
    text_scale, visual_scale = policy_guidance(args.policy, args.weights)
    if args.visual:
        embed = visual_goal(args.visual, models.embedder, args.visual_prompts_dir)
        name = safe_file_name(visual_prompt_name(args.visual))
        plan = GoalPlan.single(embed, f"visual: {name}")
        return plan, visual_scale, f"{name} - Visual Prompt", "visual"
    prompt = check_prompt(args.prompt if args.prompt is not None else "look at the sky")
    embed = text_goal(prompt, models.embedder, models.prior, generator(args.seed))
    plan = GoalPlan.single(embed, prompt)
    return plan, text_scale, f"'{safe_file_name(prompt)}' - Text Prompt", "text"


def run(args: PromptVideoSettings) -> int:
    setup_logging()
    check_run_settings(args)  # before any model loads or world starts
    if args.prompt is not None:
        check_prompt(args.prompt)
    models = build_models(args)
    plan, scale, name, kind = goal_of(args, models)
    scale = scale if args.cond_scale is None else args.cond_scale
    # one folder holds the videos of many prompts: the settings are recorded per video name
    check_output_settings(args, (*VIDEO_OUTPUT_SETTINGS, "cond_scale", "no_overlay"),
                          record=f"{name}.settings.json")
    jobs = []
    for k in range(args.episodes):
        stem = name if args.episodes == 1 else f"{name} (episode {k})"
        jobs.append(EpisodeJob(key=stem, plan=plan, cond_scale=scale, n_steps=args.steps, seed=args.seed + k,
                               meta={"prompt": plan.labels[0], "agent": kind, "cond_scale": scale,
                                     "world": args.world, "random_weights": models.random_weights},
                               video_path=args.out_dir / f"{stem}.mp4", overlay_prompt=not args.no_overlay))
    return run_video_jobs(args, models, jobs, args.out_dir)


def main(argv: list[str] | None = None) -> int:
    return run_verb(PromptVideoSettings, run, argv, verb="run-agent")


if __name__ == "__main__":
    sys.exit(main())
