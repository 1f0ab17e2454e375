"""Does text steer the agent? Prompted against unprompted agents in the embedded Minetest world.

    python -m benchmarks.steerability --episodes 10                  # the shipped Minetest-trained models
    python -m benchmarks.steerability --episodes 10 --cond-scale 0   # the guidance ablation
    python -m benchmarks.steerability --episodes 10 --visual --chain # + visual prompts and the chain
    python -m benchmarks.steerability --policy tiny --mineclip tiny --random-weights --episodes 1 --steps 30

For each prompt (one per scripted skill, the skill's canonical caption: "chop a tree", "dig dirt", "collect
seeds", "look at the sky", "go explore", "go swimming", "build a tower") the prompted agent (text -> MineCLIP
-> prior, guidance --cond-scale) and the unprompted agent (the zero goal) each play `--episodes` episodes of
`--steps` steps from the same fixed world seeds: episode i of a prompt uses the skill's surveyed seed
`SKILL_WORLD_SEEDS[skill][i]` (small Minetest seeds whose spawn has what the skill needs nearby), checked
against the training data's seeds (the world seeds of the first --training-episodes episodes of run seed
--training-run-seed, the run that generated the shipped models' data; a clash stops the benchmark). Every
episode starts with the same items (the union of SKILL_START_ITEMS: 64 dirt, so building is possible for
every agent), and its target quantity is measured from the observations (steve1.eval.metrics):

    chop a tree: logs gained (log)      dig dirt: dirt gained (dirt)      collect seeds: seeds gained (seed)
    look at the sky: steps with pitch <= -60 (sky_steps)    go explore: horizontal distance (travel_dist)
    go swimming: steps in water (water_steps, Minetest's senses)    build a tower: height gained (height_gain)

The unprompted agent's episodes are run once per seed and shared by the prompts that use that seed. Table:
per prompt, mean ± 95 % CI of its target for the prompted agent, the unprompted agent and the agents of the
other prompts; the ratio prompted/unprompted mean; steered (steve1.eval.steering: mean >= 2x and the 95 %
intervals apart). `--visual` adds visual prompts (goals from 16-frame clips: `<skill>.pkl` in
--visual-prompts-dir, made by `steve1 visual-prompts`); `--chain` adds "dig dirt" then "build a tower"
(switching at --switch-step) against "build a tower" alone; `--chain-file` adds chains of your own.

Worlds: --worlds Minetest worlds at once with the world's fast preset (the render the shipped models were
trained at), one batched agent, the project's world scheduler (steve1.run.episodes.EpisodeRunner). Episodes
are saved as they end in --out-dir/episodes (a rerun resumes; other settings need --overwrite or another
--out-dir); results.json, results.csv (one row per episode) and steerability.png (bars with 95 % CIs).
Last line: `prompts=<k> steered=<j> median_ratio=<r>` (text prompts; the visual ones on the line before).
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steve1 import paths
from steve1.agent.agent import Steve1Agent
from steve1.agent.goals import (
    SHIPPED_VISUAL_PROMPTS_DIR,
    text_goals,
    visual_goal,
    zero_goal,
)
from steve1.agent.guidance import fill_guidance
from steve1.agent.models import SHIPPED_POLICY_SIZE
from steve1.cli import say
from steve1.cli_config import UsageError, run_verb, settings_field
from steve1.data.captions import EVENTS
from steve1.data.skills import SKILL_WORLD_SEEDS, SKILLS, SkillMix
from steve1.envs import make_world
from steve1.envs.minetest.world import FAST_WORLDS
from steve1.eval.chaining import PromptSchedule, load_chain_file
from steve1.eval.plots import plot_target_panels
from steve1.eval.results import write_episode_results
from steve1.eval.seeds import TRAINING_EPISODES, TRAINING_RUN_SEEDS, check_held_out, parse_run_seeds
from steve1.eval.steering import Comparison, compare, summary_line
from steve1.run.common import (
    DTYPES,
    ModelSettings,
    banner,
    build_models,
    check_run_settings,
    generator,
    setup_logging,
)
from steve1.run.episodes import EpisodeJob, EpisodeRunner, GoalPlan, RunConfig
from steve1.run.evaluate import load_episode, save_episode
from steve1.run.videos import check_output_settings
from steve1.utils.atomic import atomic_write_text

log = logging.getLogger("benchmarks.steerability")

# skill -> (target metric, its unit): the prompt is the skill's canonical caption (steve1.data.captions)
TARGETS: dict[str, tuple[str, str]] = {
    "chop_tree": ("log", "logs"),
    "dig_dirt": ("dirt", "dirt"),
    "collect_seeds": ("seed", "seeds"),
    "look_at_sky": ("sky_steps", "steps looking up"),
    "explore": ("travel_dist", "nodes travelled"),
    "swim": ("water_steps", "steps in water"),
    "build_tower": ("height_gain", "nodes gained"),
}
DEFAULT_STEPS = 600  # > 2x the scripted skills' median steps to success on a quiet machine (BENCHMARKS.md)
CHAIN = "dirt_then_tower"  # the built-in chain: "dig dirt", then "build a tower"
CHAIN_SKILLS = ("dig_dirt", "build_tower")
OUTPUT_SETTINGS = ("policy", "weights", "mineclip", "mineclip_weights", "prior_weights", "random_weights",
                   "dtype", "seed", "steps", "cond_scale", "visual_cond_scale", "visual_prompts_dir",
                   "switch_step")  # what shapes the saved episodes: a rerun with others needs --overwrite
SHIPPED_FILES = {str(paths.SHIPPED_POLICY), str(paths.SHIPPED_MINECLIP), str(paths.SHIPPED_PRIOR)}
UNPROMPTED = "unprompted"
OTHERS = "other prompts"


@dataclass
class SteerSettings(ModelSettings):
    """Prompted vs unprompted agents in Minetest: each prompt's target quantity, mean ± 95 % CI."""

    policy: str = SHIPPED_POLICY_SIZE
    """policy size the weights were trained at (small: the shipped one), a .model file, or minetest (every
    shipped file, whatever the other model options say)"""
    weights: str = str(paths.SHIPPED_POLICY)
    """policy weights (default: the shipped ones) or a file of `steve1 train`"""
    mineclip: str = str(paths.SHIPPED_MINECLIP)
    """MineCLIP: a checkpoint of ours (default: the shipped one) or a config name (tiny: seeded weights)"""
    prior_weights: str = str(paths.SHIPPED_PRIOR)
    """CVAE prior (default: the shipped one) or a file of `steve1 train-prior`"""
    episodes: int = 10
    """episodes per prompt and agent (episode i uses the prompt's i-th surveyed world seed)"""
    steps: int = DEFAULT_STEPS
    """steps per episode (20 steps = 1 s of game time)"""
    prompts: str = ",".join(TARGETS)
    """comma-separated skills whose prompts are run"""
    cond_scale: float | None = None
    """guidance scale of the prompted text agent (0: no classifier-free guidance, the ablation)
    (default: the policy's own, else 6)"""
    visual: bool = False
    """also run visual prompts (goals from 16-frame clips: <skill>.pkl in --visual-prompts-dir)"""
    visual_cond_scale: float | None = None
    """guidance scale of the visual agent (default: the policy's own, else 7)"""
    visual_prompts_dir: Path = SHIPPED_VISUAL_PROMPTS_DIR
    """where the visual prompts <skill>.pkl are (`steve1 visual-prompts` makes them)"""
    chain: bool = False
    """also run "dig dirt" then "build a tower" (tower height with and without the chain)"""
    switch_step: int | None = None
    """the step at which the chain switches to "build a tower" (default: half of --steps)"""
    chain_file: Path | None = None
    """also run the chains this YAML/JSON file defines (name -> list of [prompt, start step])"""
    worlds: int = FAST_WORLDS
    """Minetest worlds at once (with the world's fast preset)"""
    save_videos: bool = False
    """also keep each episode's 128x128 video under --out-dir/videos"""
    out_dir: Path | None = settings_field(default=None, alias=["--out"])
    """where episodes, results and the plot go (default: data/eval/steerability_cs<cond scale>)"""
    overwrite: bool = False
    """rerun episodes already in --out-dir (needed when it holds episodes made with other settings)"""
    training_run_seeds: str = ",".join(map(str, TRAINING_RUN_SEEDS))
    """comma-separated run seeds of the training data's generations: their episodes' world seeds are never
    evaluated on"""
    training_episodes: int = TRAINING_EPISODES
    """how many of each run's episodes' world seeds are refused"""
    max_retries: int = 2
    """re-runs of an episode whose world crashed"""

    def __post_init__(self):
        fill_guidance(self, "cond_scale", "visual_cond_scale")
        if self.out_dir is None:
            self.out_dir = paths.DATA_DIR / "eval" / f"steerability_cs{self.cond_scale:g}"
        if self.worlds < 1:
            raise UsageError(f"--worlds must be at least 1, got {self.worlds}")
        parse_run_seeds(self.training_run_seeds)  # a bad list: one error line before anything starts
        skills = self.skills()
        if not skills:
            raise UsageError("--prompts: give at least one skill")
        if self.chain and not set(CHAIN_SKILLS) <= set(skills):
            raise UsageError(f"--chain compares with the {CHAIN_SKILLS[1]} prompt and needs both of "
                             f"{', '.join(CHAIN_SKILLS)} in --prompts")

    def skills(self) -> list[str]:
        names = [p.strip() for p in self.prompts.split(",") if p.strip()]
        bad = [n for n in names if n not in TARGETS]
        if bad:
            raise UsageError(f"--prompts: unknown {bad}; choose from {', '.join(TARGETS)}")
        return list(dict.fromkeys(names))


def prompt_text(skill: str) -> str:
    return EVENTS[skill].caption


def world_seeds(skill: str, episodes: int) -> list[tuple[int, int]]:
    """(world seed, repeat) of each episode: the skill's surveyed seeds in order, cycled when there are
    more episodes than seeds (repeat counts the cycles, so each episode has its own key)."""
    seeds = SKILL_WORLD_SEEDS[skill]
    return [(seeds[i % len(seeds)], i // len(seeds)) for i in range(episodes)]


def start_items() -> dict[str, int]:
    """Every skill's start items (largest count per item): the same for every agent and prompt."""
    return SkillMix(tuple(SKILLS)).start_items()


def chains_of(args: SteerSettings) -> dict[str, tuple[PromptSchedule, str]]:
    """Chain name -> (schedule, the skill whose seeds and target it is measured on)."""
    chains = {}
    if args.chain:
        switch = args.switch_step if args.switch_step is not None else args.steps // 2
        chains[CHAIN] = (PromptSchedule.from_pairs([(prompt_text(CHAIN_SKILLS[0]), 0),
                                                    (prompt_text(CHAIN_SKILLS[1]), switch)]), CHAIN_SKILLS[1])
    if args.chain_file is not None:
        by_text = {prompt_text(s): s for s in TARGETS}
        for name, schedule in load_chain_file(args.chain_file).items():
            chains[name] = (schedule, by_text.get(schedule.prompts[-1], "explore"))
    return chains


def _key(agent: str, name: str, i: int) -> str:
    return f"{agent}/{name}/{i}"


def _unprompted_key(seed: int, repeat: int) -> str:
    return f"{UNPROMPTED}/seed{seed}/{repeat}"


def build_jobs(args: SteerSettings, goal_of, items: dict[str, int]) -> list[EpisodeJob]:
    """Every episode to run. goal_of(kind, name) -> (1, D) goal for kind text/visual/chain."""
    jobs: dict[str, EpisodeJob] = {}
    dim = goal_of("dim", "")

    def add(key, plan, scale, seed, meta):
        if key in jobs:
            return
        video = args.out_dir / "videos" / f"{key.replace('/', '__')}.mp4" if args.save_videos else None
        jobs[key] = EpisodeJob(key, plan, scale, args.steps, seed=seed, video_path=video, start_items=items,
                               meta={**meta, "world": "minetest", "cond_scale": scale})

    def unprompted(seed, r):
        add(_unprompted_key(seed, r), GoalPlan.single(zero_goal(dim), "none"), 0.0, seed,
            {"agent": UNPROMPTED, "prompt": ""})

    kinds = [("text", args.cond_scale)] + ([("visual", args.visual_cond_scale)] if args.visual else [])
    for skill in args.skills():
        for i, (seed, r) in enumerate(world_seeds(skill, args.episodes)):
            for kind, scale in kinds:
                label = prompt_text(skill) if kind == "text" else f"visual: {skill}"
                add(_key(kind, skill, i), GoalPlan.single(goal_of(kind, skill), label), scale, seed,
                    {"agent": kind, "prompt": skill})
            unprompted(seed, r)
    for name, (schedule, skill) in chains_of(args).items():
        plan = GoalPlan(np.concatenate([goal_of("text", p) for p in schedule.prompts]), schedule.starts,
                        schedule.prompts)
        for i, (seed, r) in enumerate(world_seeds(skill, args.episodes)):
            add(_key("chain", name, i), plan, args.cond_scale, seed, {"agent": "chain", "prompt": name})
            unprompted(seed, r)
    return list(jobs.values())


def _values(rows: dict[str, dict], keys, metric: str) -> list[float]:
    return [float(rows[k][metric]) for k in keys if k in rows]


def analyse(args: SteerSettings, rows: dict[str, dict], kind: str) -> dict[str, Comparison]:
    """Skill -> its comparison for the `kind` (text or visual) agents, from the episodes' rows by key."""
    out = {}
    skills = args.skills()
    for skill in skills:
        metric = TARGETS[skill][0]
        episodes = world_seeds(skill, args.episodes)
        prompted = _values(rows, [_key(kind, skill, i) for i in range(len(episodes))], metric)
        unprompted = _values(rows, [_unprompted_key(s, r) for s, r in episodes], metric)
        others = _values(rows, [_key(kind, o, i) for o in skills if o != skill for i in range(args.episodes)],
                         metric)
        if prompted and unprompted:
            out[skill] = compare(prompted, unprompted, others)
    return out


def _fmt_ratio(r: float) -> str:
    return "inf" if math.isinf(r) else f"{r:.2f}"


def table(comparisons: dict[str, Comparison], kind: str) -> list[str]:
    head = (f"{kind + ' prompt':<18} {'target':<12} {'prompted':>15} {'unprompted':>15} {OTHERS:>15} "
            f"{'ratio':>7}  steered")
    lines = [head]
    for skill, c in comparisons.items():
        others = str(c.others) if c.others is not None else "-"
        lines.append(f"{prompt_text(skill):<18} {TARGETS[skill][0]:<12} {c.prompted!s:>15} "
                     f"{c.unprompted!s:>15} {others:>15} {_fmt_ratio(c.ratio):>7}  "
                     f"{'yes' if c.steered else 'no'}")
    return lines


def _comparison_json(c: Comparison, prompted, unprompted) -> dict:
    def iv(x):
        return None if x is None else {"mean": x.mean, "ci95": x.ci95, "n": x.n}

    return {"prompted": iv(c.prompted), "unprompted": iv(c.unprompted), "others": iv(c.others),
            "ratio": None if math.isinf(c.ratio) else c.ratio, "ratio_is_inf": math.isinf(c.ratio),
            "steered": c.steered, "prompted_values": prompted, "unprompted_values": unprompted}


def chain_lines(args: SteerSettings, rows: dict[str, dict]) -> tuple[list[str], dict]:
    """Each chain's target (its last prompt's skill) against that prompt alone and the unprompted agent."""
    lines, out = [], {}
    for name, (schedule, skill) in chains_of(args).items():
        metric = TARGETS[skill][0]
        episodes = world_seeds(skill, args.episodes)
        chained = _values(rows, [_key("chain", name, i) for i in range(len(episodes))], metric)
        alone = _values(rows, [_key("text", skill, i) for i in range(len(episodes))], metric)
        none = _values(rows, [_unprompted_key(s, r) for s, r in episodes], metric)
        if not chained:
            continue
        parts = {"chained": compare(chained, none or chained).prompted}
        if alone:
            parts[f"'{prompt_text(skill)}' alone"] = compare(alone, alone).prompted
        if none:
            parts[UNPROMPTED] = compare(none, none).prompted
        steps = " -> ".join(f"'{p}'@{s}" for p, s in zip(schedule.prompts, schedule.starts, strict=True))
        lines.append(f"chain {name} ({steps}): {metric} " + ", ".join(f"{k} {v}" for k, v in parts.items()))
        out[name] = {"prompts": list(schedule.prompts), "starts": list(schedule.starts), "metric": metric,
                     "chained": chained, "alone": alone, "unprompted": none}
    return lines, out


def plot(args, rows, comparisons: dict[str, dict[str, Comparison]]) -> list[Path]:
    outs = []
    for kind, comps in comparisons.items():
        if not comps:
            continue
        values, units = {}, {}
        for skill in comps:
            metric = TARGETS[skill][0]
            episodes = world_seeds(skill, args.episodes)
            prompt = prompt_text(skill)
            values[prompt] = {
                "prompted": _values(rows, [_key(kind, skill, i) for i in range(len(episodes))], metric),
                UNPROMPTED: _values(rows, [_unprompted_key(s, r) for s, r in episodes], metric),
                OTHERS: _values(rows, [_key(kind, o, i) for o in comps if o != skill
                                       for i in range(args.episodes)], metric),
            }
            units[prompt] = TARGETS[skill][1]
        name = "steerability.png" if kind == "text" else f"steerability_{kind}.png"
        scale = args.cond_scale if kind == "text" else args.visual_cond_scale
        outs.append(plot_target_panels(values, units, args.out_dir / name,
                                       title=f"{kind} prompts, guidance {scale:g} (mean, 95% CI)"))
    return outs


def run(args: SteerSettings) -> int:
    setup_logging()
    check_run_settings(args)
    chains_of(args)  # a bad chain file: one error line before any model loads or world starts
    seeds = {s for skill in args.skills() for s, _ in world_seeds(skill, args.episodes)}
    check_held_out(seeds, parse_run_seeds(args.training_run_seeds), args.training_episodes)
    if args.visual:
        missing = [s for s in args.skills() if not (Path(args.visual_prompts_dir) / f"{s}.pkl").is_file()]
        if missing:
            raise UsageError(f"--visual: no visual prompt {', '.join(f'{m}.pkl' for m in missing)} in "
                             f"{args.visual_prompts_dir}; make them with `steve1 visual-prompts`")
    check_output_settings(args, OUTPUT_SETTINGS)
    used = [args.mineclip] + ([] if args.random_weights else [args.weights, args.prior_weights])
    missing = [f for f in used if f in SHIPPED_FILES and not Path(f).is_file()]
    if missing:
        raise UsageError(f"the shipped Minetest models are not in this install (missing "
                         f"{', '.join(missing)}); pass your own files, or --policy tiny --mineclip tiny "
                         f"--random-weights to try it")
    models = build_models(args)
    texts = sorted({prompt_text(s) for s in args.skills()}
                   | {p for schedule, _ in chains_of(args).values() for p in schedule.prompts})
    text_goal = dict(zip(texts, text_goals(texts, models.embedder, models.prior, generator(args.seed)),
                         strict=True))  # one prior sample per prompt per run, as `steve1 evaluate`
    visual_goals = {}

    def goal_of(kind: str, name: str):
        if kind == "dim":
            return models.goal_dim
        if kind == "visual":
            if name not in visual_goals:
                visual_goals[name] = visual_goal(name, models.embedder, args.visual_prompts_dir)
            return visual_goals[name]
        return text_goal[name if name in text_goal else prompt_text(name)].reshape(1, -1)

    jobs = build_jobs(args, goal_of, start_items())
    done = {} if args.overwrite else {j.key: e for j in jobs if (e := load_episode(args, j.key)) is not None}
    todo = [j for j in jobs if j.key not in done]
    log.info("%d episodes, %d already done, %d to run (%d worlds)", len(jobs), len(done), len(todo),
             min(args.worlds, max(1, len(todo))))
    t0 = time.perf_counter()
    failures = []
    if todo:
        n_worlds = min(args.worlds, len(todo))
        agent = Steve1Agent(models.policy, n_worlds=n_worlds, generator=generator(args.seed),
                            autocast_dtype=DTYPES[args.dtype])
        runner = EpisodeRunner(agent, lambda slot: make_world("minetest", fast=True),
                               RunConfig(banner=banner(models), max_retries=args.max_retries),
                               on_done=lambda r: save_episode(args, r))
        try:
            failures = runner.run(todo)
        finally:
            runner.close()
    wall = time.perf_counter() - t0
    rows = {j.key: e[0]["row"] for j in jobs if (e := load_episode(args, j.key)) is not None}
    if not rows:
        raise UsageError("no episode finished")
    write_episode_results([rows[j.key] for j in jobs if j.key in rows], args.out_dir / "results")
    kinds = ["text"] + (["visual"] if args.visual else [])
    comparisons = {k: analyse(args, rows, k) for k in kinds}
    lines = []
    for kind in kinds:
        lines += table(comparisons[kind], kind) + [""]
    c_lines, chains = chain_lines(args, rows)
    lines += c_lines
    plots = plot(args, rows, comparisons)
    ran = [rows[j.key] for j in todo if j.key in rows]
    per_episode = wall / len(ran) * min(args.worlds, len(todo)) if ran else float("nan")
    info = (f"episodes={len(rows)} ran={len(ran)} steps={args.steps} "
            f"worlds={min(args.worlds, max(1, len(todo)))} wall_s={wall:.0f} "
            f"wall_s_per_episode_per_world={per_episode:.0f} "
            f"load_avg_1min={os.getloadavg()[0]:.1f} failed={len(failures)}")
    last = summary_line(list(comparisons["text"].values()))
    result = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "prompts": {prompt_text(s): s for s in args.skills()}, "targets": TARGETS,
        "start_items": start_items(),
        **{kind: {prompt_text(s): _comparison_json(
            c, *(_values(rows, keys, TARGETS[s][0]) for keys in (
                [_key(kind, s, i) for i in range(args.episodes)],
                [_unprompted_key(x, r) for x, r in world_seeds(s, args.episodes)])))
            for s, c in comparisons[kind].items()} for kind in kinds},
        "chains": chains, "plots": [str(p) for p in plots], "run": info, "summary": last,
        "random_weights": models.random_weights,
    }
    if args.visual:
        result["visual_summary"] = summary_line(list(comparisons["visual"].values()), prefix="visual_")
    atomic_write_text(args.out_dir / "results.json", json.dumps(result, indent=1))
    for key, message in failures:
        log.error("episode %s failed: %s", key, message)
    if models.random_weights:
        lines.insert(0, "*** RANDOM WEIGHTS: these numbers say nothing about steering ***")
    for line in lines + [info] + ([result["visual_summary"]] if args.visual else []) + [last]:
        say(line)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(SteerSettings, run, argv, verb="benchmarks.steerability")


if __name__ == "__main__":
    sys.exit(main())
