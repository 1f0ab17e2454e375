"""Evaluation runs (`steve1 evaluate`): prompted vs unconditioned agent, programmatic metrics, MineCLIP
distances, prompt chaining; results as CSV/JSON and plots in the paper's style.

    steve1 evaluate --prompts wood,dirt,seeds,explore --episodes 5 --steps 3000
    steve1 evaluate --agents text,visual,unconditional --chain build_tower

Episodes: for every prompt and prompted agent (text: MineCLIP text -> prior, guidance 6.0; visual: the
released embedding, 7.0) and for the unconditional agent (zero goal, no guidance; its episodes are run once
and scored against every prompt), `--episodes` episodes with world seeds --seed + k (the same seeds for
every agent, so they are paired). Chains (`--chain`) switch text prompts at `--switch-step`
(steve1.eval.chaining); `--chain-file FILE` adds the chains a YAML/JSON file defines (each with its own
switch steps). `--visual-prompt SOURCE` adds visual prompts of your own (a clip, a frames folder, a .pkl,
EPISODE_DIR@STEP; steve1.agent.goals.visual_goal), each run by the visual agent and named by its source.

Per episode: programmatic metrics (log, dirt, seed, travel_dist) and, unless --no-mineclip-eval, the MineCLIP
embedding of every 16-frame window; `mineclip_dist` = min over windows of the cosine distance to the
prompt's MineCLIP text embedding (steve1.eval.mineclip_eval). Chained episodes get one distance per
segment (`mineclip_dist_<i>`, over the windows whose last frame was taken for prompt i).

Output (`--out-dir`): `episodes/<key>.json` (+ `.npy` windows) per episode, written as each ends (a rerun
skips finished episodes; the settings that shape them are kept in `run_settings.json`, and a rerun with other
ones stops unless --overwrite), `results.csv/json` (one row per episode and prompt), `plots/<metric>.png` and
`plots/summary.csv/json` (mean and 95 % CI per prompt and agent), `plots/mineclip_matrix_<agent>.png`
(the prompt-vs-prompt distance matrix).
"""
from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steve1 import paths
from steve1.agent.agent import Steve1Agent
from steve1.agent.goals import (
    PAPER_TEXT_PROMPTS,
    text_goals,
    visual_goal,
    visual_goal_from_pickle,
    visual_prompt_name,
    zero_goal,
)
from steve1.agent.guidance import fill_guidance
from steve1.agent.models import AgentModels
from steve1.cli_config import UsageError, run_verb, settings_field
from steve1.eval.chaining import DEFAULT_SWITCH_STEP, PAPER_CHAIN_PROMPTS, load_chain_file, paper_chain
from steve1.eval.metrics import METRIC_NAMES
from steve1.eval.mineclip_eval import min_cosine_distance, prompt_distance_matrix
from steve1.eval.plots import plot_distance_matrix
from steve1.eval.report import MINECLIP_METRIC, UNCONDITIONAL_AGENT, plot_results
from steve1.eval.results import write_episode_results
from steve1.mineclip import VIDEO_FRAMES
from steve1.run.common import (
    DTYPES,
    BatchedWorldSettings,
    ModelSettings,
    banner,
    build_models,
    check_positive,
    check_run_settings,
    generator,
    safe_file_name,
    setup_logging,
    world_factory,
)
from steve1.run.episodes import EpisodeJob, EpisodeResult, EpisodeRunner, GoalPlan, RunConfig
from steve1.run.videos import MODEL_OUTPUT_SETTINGS, check_output_settings
from steve1.utils.atomic import atomic_path, atomic_write_text

log = logging.getLogger("steve1.evaluate")
AGENTS = ("text", "visual", UNCONDITIONAL_AGENT)


@dataclass
class EvaluateSettings(ModelSettings, BatchedWorldSettings):
    """Prompted vs unconditioned agent: programmatic metrics, MineCLIP distances, chains, plots."""

    prompts: str | None = None
    """comma-separated paper prompt names (default: all 11, or none when --custom-prompt is given)"""
    custom_prompt: list[str] = settings_field(default_factory=list)
    """text prompts of your own (text agent only)"""
    agents: str = f"text,{UNCONDITIONAL_AGENT}"
    """comma-separated from text, visual, unconditional"""
    chain: list[str] = settings_field(default_factory=list)
    """also run these prompt chains (build_tower, ...: the paper's chains)"""
    switch_step: int = DEFAULT_SWITCH_STEP
    """the step at which a chain switches to its next prompt"""
    chain_file: Path | None = None
    """also run the chains this YAML/JSON file defines (name -> list of [prompt, start step])"""
    visual_prompt: list[str] = settings_field(default_factory=list)
    """visual prompts of your own (clip, frames folder, .pkl, EPISODE_DIR@STEP), for the visual agent"""
    episodes: int = 1
    """episodes per prompt and agent"""
    steps: int = 3000
    """steps per episode (paper: 3000)"""
    text_cond_scale: float | None = None
    """guidance scale of the text agent (default: the policy's own, else 6)"""
    visual_cond_scale: float | None = None
    """guidance scale of the visual agent (default: the policy's own, else 7)"""
    visual_prompts_dir: Path = paths.VISUAL_PROMPT_EMBEDS_DIR
    """folder of the released <name>.pkl visual prompts"""
    no_mineclip_eval: bool = False
    """skip the MineCLIP distances"""
    save_videos: bool = False
    """also keep each episode's 128x128 video"""
    out_dir: Path = paths.DATA_DIR / "eval"
    """where episodes, results and plots go"""
    overwrite: bool = False
    """rerun the selected episodes even if --out-dir holds them (needed when made with other settings)"""

    def __post_init__(self):
        fill_guidance(self, "text_cond_scale", "visual_cond_scale")
        check_positive(self.steps, "--steps")
        check_positive(self.episodes, "--episodes")
        check_positive(self.n_worlds, "--n-worlds")
        _names(self.agents, AGENTS, "--agents")
        if self.prompts is not None:
            _names(self.prompts, PAPER_TEXT_PROMPTS, "--prompts")
        _names(",".join(self.chain), sorted(PAPER_CHAIN_PROMPTS), "--chain")


def _names(value: str, allowed, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise UsageError(f"{what}: unknown {bad}; choose from {', '.join(allowed)}")
    return items


def prompt_texts(args: EvaluateSettings) -> dict[str, str]:
    """Prompt name -> text: the chosen paper prompts, then the custom ones (named by their text)."""
    names = args.prompts
    if names is None:  # all paper prompts, unless the user gave their own
        names = "" if args.custom_prompt else ",".join(PAPER_TEXT_PROMPTS)
    texts = {n: PAPER_TEXT_PROMPTS[n] for n in _names(names, PAPER_TEXT_PROMPTS, "--prompts")}
    for text in args.custom_prompt:
        if not text.strip():
            raise UsageError("--custom-prompt: empty prompt; give the instruction, e.g. --custom-prompt dig")
        texts[text] = text
    return texts


def _file_key(key: str) -> str:
    return safe_file_name(key.replace("/", "__"))


def build_jobs(args, models: AgentModels, texts: dict[str, str], agents: list[str]) -> list[EpisodeJob]:
    gen = generator(args.seed)
    jobs = []
    chains = {c: paper_chain(c, args.switch_step) for c in args.chain}
    chains.update(load_chain_file(args.chain_file) if args.chain_file is not None else {})
    chain_texts = sorted({p for s in chains.values() for p in s.prompts} - set(texts.values()))
    all_texts = list(texts.values()) + chain_texts
    prompt_goal = {}
    if "text" in agents or chains:
        prompt_goal = dict(zip(all_texts, text_goals(all_texts, models.embedder, models.prior, gen),
                               strict=True))  # one prior sample per prompt per run, as the original

    visual_goals = {src: visual_goal(src, models.embedder, args.visual_prompts_dir)
                    for src in args.visual_prompt}

    def job(key, plan, scale, k, meta):
        video = args.out_dir / "videos" / f"{_file_key(key)}.mp4" if args.save_videos else None
        return EpisodeJob(key, plan, scale, args.steps, seed=args.seed + k, video_path=video,
                          meta={**meta, "episode_index": k, "cond_scale": scale, "world": args.world,
                                "random_weights": models.random_weights})

    for k in range(args.episodes):
        for name, text in texts.items():
            if "text" in agents:
                jobs.append(job(f"text/{name}/{k}", GoalPlan.single(prompt_goal[text], text),
                                args.text_cond_scale, k, {"agent": "text", "prompt": name}))
            if "visual" in agents and name in PAPER_TEXT_PROMPTS:
                embed = visual_goal_from_pickle(name, models.goal_dim, args.visual_prompts_dir)
                jobs.append(job(f"visual/{name}/{k}", GoalPlan.single(embed, f"visual: {name}"),
                                args.visual_cond_scale, k, {"agent": "visual", "prompt": name}))
        for source in args.visual_prompt if "visual" in agents else ():
            embed = visual_goals[source]
            name = visual_prompt_name(source)
            jobs.append(job(f"visual/{name}/{k}", GoalPlan.single(embed, f"visual: {name}"),
                            args.visual_cond_scale, k, {"agent": "visual", "prompt": name}))
        if UNCONDITIONAL_AGENT in agents:
            jobs.append(job(f"{UNCONDITIONAL_AGENT}/{k}", GoalPlan.single(zero_goal(models.goal_dim), "none"),
                            0.0, k, {"agent": UNCONDITIONAL_AGENT, "prompt": ""}))
        for c, schedule in chains.items():
            plan = GoalPlan(np.stack([prompt_goal[p] for p in schedule.prompts]), schedule.starts,
                            schedule.prompts)
            jobs.append(job(f"chain/{c}/{k}", plan, args.text_cond_scale, k, {"agent": "chain", "prompt": c}))
    return jobs


def _episode_dir(args) -> Path:
    return args.out_dir / "episodes"


def save_episode(args, result: EpisodeResult) -> None:
    """`episodes/<key>.json` (row + plan) and, with MineCLIP eval, `episodes/<key>.npy` (windows)."""
    stem = _episode_dir(args) / _file_key(result.job.key)
    record = {"row": result.row(), "starts": list(result.job.plan.starts),
              "prompts": list(result.job.plan.labels), "has_windows": result.window_embeds is not None}
    if result.window_embeds is not None:
        with atomic_path(stem.with_suffix(".npy")) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, result.window_embeds.astype(np.float32))
    atomic_write_text(stem.with_suffix(".json"), json.dumps(record, indent=1))
    log.info("episode %s: %s", result.job.key, {k: result.metrics[k] for k in METRIC_NAMES})


def load_episode(args, key: str) -> tuple[dict, np.ndarray | None] | None:
    stem = _episode_dir(args) / _file_key(key)
    try:
        record = json.loads(stem.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    windows = np.load(stem.with_suffix(".npy")) if record.get("has_windows") else None
    return record, windows


def score_rows(jobs: list[EpisodeJob], episodes: dict, text_embeds: dict[str, np.ndarray] | None,
               texts: dict[str, str]) -> list[dict]:
    """One row per episode and prompt (unconditional episodes are scored against every prompt)."""
    rows = []
    for job in jobs:
        if job.key not in episodes:
            continue
        record, windows = episodes[job.key]
        base = dict(record["row"])
        agent = base["agent"]
        prompts = list(texts) if agent == UNCONDITIONAL_AGENT else [base["prompt"]]
        for name in prompts:
            row = {**base, "prompt": name}
            if text_embeds is not None and windows is not None and len(windows):
                if agent == "chain":
                    starts = record["starts"] + [int(1e12)]
                    # window i ends with the frame after step i + 15 (0-based), taken for that step's goal
                    ends = np.arange(len(windows)) + VIDEO_FRAMES - 1
                    for i, text in enumerate(record["prompts"]):
                        inside = (ends >= starts[i]) & (ends < starts[i + 1])
                        if inside.any():
                            row[f"{MINECLIP_METRIC}_{i}"] = min_cosine_distance(
                                text_embeds[text], windows[inside], dim=windows.shape[1])
                elif name in texts:  # (a visual prompt of your own has no text to score against)
                    row[MINECLIP_METRIC] = min_cosine_distance(text_embeds[texts[name]], windows,
                                                               dim=windows.shape[1])
            rows.append(row)
    return rows


def run(args: EvaluateSettings) -> int:
    setup_logging()
    check_run_settings(args)  # before any model loads or world starts
    texts = prompt_texts(args)
    agents = _names(args.agents, AGENTS, "--agents")
    if args.chain_file is not None:
        load_chain_file(args.chain_file)  # a bad file is one error line before any model loads
    check_output_settings(args, (*MODEL_OUTPUT_SETTINGS, "steps", "text_cond_scale", "visual_cond_scale",
                                 "switch_step", "visual_prompts_dir", "no_mineclip_eval"))
    models = build_models(args)
    jobs = build_jobs(args, models, texts, agents)
    episodes = {} if args.overwrite else {j.key: e for j in jobs
                                          if (e := load_episode(args, j.key)) is not None}
    todo = [j for j in jobs if j.key not in episodes]
    log.info("%d episodes, %d already done, %d to run", len(jobs), len(episodes), len(todo))
    failures = []
    if todo:
        n_worlds = min(args.n_worlds, len(todo))
        agent = Steve1Agent(models.policy, n_worlds=n_worlds, generator=generator(args.seed),
                            autocast_dtype=DTYPES[args.dtype])
        cfg = RunConfig(banner=banner(models), max_retries=args.max_retries,
                        embedder=None if args.no_mineclip_eval else models.embedder)
        runner = EpisodeRunner(agent, world_factory(args), cfg, on_done=lambda r: save_episode(args, r))
        try:
            failures = runner.run(todo)
        finally:
            runner.close()
        episodes = {j.key: e for j in jobs if (e := load_episode(args, j.key)) is not None}
    seen = {t for record, _ in episodes.values() for t in record["prompts"]}
    all_texts = sorted(seen | set(texts.values()))
    all_texts = [t for t in all_texts if t not in ("none",) and not t.startswith("visual: ")]
    text_embeds = None
    if not args.no_mineclip_eval:
        text_embeds = dict(zip(all_texts, models.embedder.embed_texts(all_texts), strict=True))
    rows = score_rows(jobs, episodes, text_embeds, texts)
    if not rows:
        log.error("no episode finished")
        return 1
    csv_path, _ = write_episode_results(rows, args.out_dir / "results")
    outputs = plot_results(rows, args.out_dir / "plots")  # the summary `steve1 eval-report` makes, chains in
    if text_embeds is not None:
        outputs += _matrices(args, jobs, episodes, text_embeds, texts)
    log.info("results: %s; plots: %s", csv_path, ", ".join(str(p) for p in outputs))
    for key, message in failures:
        log.error("episode %s failed: %s", key, message)
    return 1 if failures else 0


def _matrices(args, jobs, episodes, text_embeds, texts) -> list[Path]:
    """The prompt-vs-prompt MineCLIP matrix per prompted agent (needs at least two prompts)."""
    out = []
    if len(texts) < 2:
        return out
    for agent in ("text", "visual"):
        by_prompt: dict[str, list[np.ndarray]] = {}
        for job in jobs:
            got = episodes.get(job.key)
            if got is not None and got[1] is not None and len(got[1]) and job.meta["agent"] == agent:
                by_prompt.setdefault(job.meta["prompt"], []).append(got[1])
        if len(by_prompt) < 2:
            continue
        goals = {n: text_embeds[texts[n]].reshape(-1) for n in texts}
        dim = next(iter(goals.values())).shape[0]
        rows, cols, matrix = prompt_distance_matrix(goals, by_prompt, dim=dim)
        path = args.out_dir / "plots" / f"mineclip_matrix_{agent}.png"
        out.append(plot_distance_matrix(rows, cols, matrix, path,
                                        title=f"{agent} prompts: min MineCLIP cosine distance"))
    return out


def main(argv: list[str] | None = None) -> int:
    return run_verb(EvaluateSettings, run, argv, verb="evaluate")


if __name__ == "__main__":
    sys.exit(main())
