"""The quickstart's stages: first the STEVE-1 that ships with the package following the prompt, then the
embedded world's whole recipe at small scale, each stage calling the same code as the `steve1` verbs.

    01_shipped   the shipped STEVE-1 (steve1/weights/minetest) on the prompt vs unprompted -> *.mp4, csv
    02_generate  scripted skills in fast Minetest worlds, per-step world state     -> episodes/
    03_mineclip  our MineCLIP, trained contrastively on the episodes' captioned clips -> mineclip.pth
    04_embed     the episodes' per-step embeddings recomputed with it                (in 02's episodes)
    05_sampling  train/val episode lists                                          -> quickstart_*.txt
    06_train     goal-conditioned training, packed hindsight relabeling            -> policy.weights
    07_label     captioned clips paired with MineCLIP text                          -> data.pkl
    08_prior     the CVAE prior on those pairs                                      -> prior.pt
    09_agent     YOUR small agent on the prompt vs unprompted                       -> *.mp4, csv
    10_report    what ran, metrics tables, plots                                    -> report.md

The same stages at full size made the shipped models: train/5_minetest_recipe.sh (the model card in README).
The small run's models are trained for minutes: they show the recipe working, not a steerable agent.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from steve1.quickstart.runner import Stage, StageContext
from steve1.quickstart.settings import QuickstartSettings
from steve1.utils.atomic import atomic_write_text

SAMPLING_NAME = "quickstart"
UNPROMPTED = "unconditional"  # steve1.eval.report.UNCONDITIONAL_AGENT
PROMPTED = "text prompt"
SHIPPED_NOTE = ("the STEVE-1 shipped with the package, trained on the embedded world by the steps of "
                "train/5_minetest_recipe.sh. Its model card (README) says what it is: prompts select "
                "different behaviours; at its text guidance 0 three of 7 text prompts are steered on the "
                "benchmark (look at the sky, go explore, build a tower)")
SMALL_NOTE = "trained in this run for minutes: shows the recipe working, not a steerable agent"


def _check_world() -> None:
    from steve1.envs.minetest import minetest_available

    problem = minetest_available()
    if problem:
        raise RuntimeError(f"the quickstart runs on the embedded Minetest world: {problem}")


# --------------------------------------------------------------------------------------------- agents
def run_prompted_vs_unprompted(ctx: StageContext, models, banner: str | None, policy: str,
                               policy_weights: str) -> dict:
    """Prompted and unprompted episodes from the same world seeds (steve1.run.episodes), with videos; the
    prompted agent at the settings' guidance, else the policy's own (steve1.agent.guidance)."""
    import torch

    from steve1.agent import Steve1Agent, text_goals, zero_goal
    from steve1.agent.guidance import policy_guidance
    from steve1.data.skills import SKILL_START_ITEMS
    from steve1.envs import make_world
    from steve1.eval.results import write_episode_results
    from steve1.run.episodes import EpisodeJob, EpisodeRunner, GoalPlan, RunConfig

    s: QuickstartSettings = ctx.settings
    cond_scale = policy_guidance(policy, policy_weights)[0] if s.cond_scale is None else s.cond_scale
    _check_world()
    goal = text_goals([s.prompt], models.embedder, models.prior,
                      generator=torch.Generator().manual_seed(s.seed))[0]  # (512,)
    start_items = {item: n for items in SKILL_START_ITEMS.values() for item, n in items.items()}
    jobs = []
    for e in range(s.agent_episodes):
        seed = s.agent_world_seed + e
        for name, plan, scale in ((PROMPTED, GoalPlan.single(goal, s.prompt), cond_scale),
                                  (UNPROMPTED, GoalPlan.single(zero_goal(goal.shape[0]), "no prompt"), 0.0)):
            video = ctx.dir / f"{name.replace(' ', '_')}.mp4" if e == 0 else None
            jobs.append(EpisodeJob(f"{name}/{e}", plan, scale, s.agent_steps, seed=seed, video_path=video,
                                   overlay_prompt=True, start_items=start_items,
                                   meta={"prompt": s.prompt, "agent": name, "episode_index": e,
                                         "cond_scale": scale}))
    rows: list[dict] = []
    agent = Steve1Agent(models.policy, n_worlds=2, cond_scale=cond_scale,
                        generator=torch.Generator().manual_seed(s.seed))
    width = round(s.video_height * 16 / 9)
    runner = EpisodeRunner(agent, lambda slot: make_world("minetest", fast=True),
                           RunConfig(video_size=(width, s.video_height), video_fps=20.0, banner=banner),
                           on_done=lambda result: rows.append(result.row()))
    try:
        failures = runner.run(jobs)
    finally:
        runner.close()
    if failures:
        raise RuntimeError(f"agent episodes failed after retries: {failures}")
    rows.sort(key=lambda r: (r["episode_index"], r["agent"] != PROMPTED))
    csv_path, json_path = write_episode_results(rows, ctx.dir / "episodes")
    videos = [str(j.video_path) for j in jobs if j.video_path is not None]
    return {"outputs": [*videos, str(csv_path), str(json_path)], "rows": rows, "prompt": s.prompt,
            "cond_scale": cond_scale, "models": models.description}


def shipped(ctx: StageContext) -> dict:
    s: QuickstartSettings = ctx.settings
    if not s.shipped_agent:
        return {"note": "skipped (--noshipped-agent)"}
    from steve1.agent.models import load_agent_models
    from steve1.paths import SHIPPED_NAME

    models = load_agent_models(SHIPPED_NAME, device=s.device, seed=s.seed)
    return {**run_prompted_vs_unprompted(ctx, models, None, SHIPPED_NAME, ""), "note": SHIPPED_NOTE}


# --------------------------------------------------------------------------------------------- generate
def generate(ctx: StageContext) -> dict:
    from steve1.data.episode import list_episode_dirs, min_frames_for_training
    from steve1.data.gen_mixed_agents import GenerateSettings
    from steve1.data.gen_mixed_agents import run as generate_episodes

    s: QuickstartSettings = ctx.settings
    _check_world()
    need = min_frames_for_training(s.T, s.min_btwn_goals)
    if s.episode_steps < need:
        raise ValueError(f"episode_steps {s.episode_steps} < {need} frames needed for one training sequence")
    episodes_dir = ctx.dir / "episodes"
    code = generate_episodes(GenerateSettings(
        output_dir=str(episodes_dir), num_episodes=s.episodes, num_worlds=s.num_worlds, skills=s.skills,
        max_timesteps=s.episode_steps, min_timesteps=need, seed=s.seed, mineclip_config="fake", fast=True,
        device=s.device, threads=0, progress=False))  # threads=0: this process's torch threads stay
    if code != 0:
        raise RuntimeError(f"generation ended with status {code} (see the messages above)")
    episodes = list_episode_dirs(episodes_dir)
    if len(episodes) < 2:
        raise RuntimeError(f"only {len(episodes)} episode(s) saved; training needs a train and a validation "
                           f"episode")
    frames = sum(int((Path(e) / "len.txt").read_text()) for e in episodes)
    return {"outputs": [str(episodes_dir)], "episodes": len(episodes), "frames": frames,
            "agents": f"scripted skills {s.skills.replace('+', ', ')}"}


# --------------------------------------------------------------------------------------------- mineclip
def mineclip(ctx: StageContext) -> dict:
    from steve1.mineclip.train import TrainMineClipSettings, train_mineclip

    s: QuickstartSettings = ctx.settings
    out = ctx.dir / "mineclip.pth"
    summary = train_mineclip(TrainMineClipSettings(
        episodes=str(ctx.dirs["generate"] / "episodes"), out=str(out), size=s.mineclip_size,
        steps=s.mineclip_steps, batch_size=s.mineclip_batch_size, warmup_steps=max(1, s.mineclip_steps // 5),
        seed=s.seed, device=s.device, save_every=max(1, s.mineclip_steps // 2)))
    losses = summary["losses"]
    k = max(1, len(losses) // 5)
    return {"outputs": [str(out)], "mineclip": str(out), "steps": summary["steps"],
            "first_loss": float(np.mean(losses[:k])), "last_loss": float(np.mean(losses[-k:])),
            "note": f"our {s.mineclip_size} MineCLIP, {summary['steps']} contrastive steps: {SMALL_NOTE}"}


def embed(ctx: StageContext) -> dict:
    from steve1.data.reembed import EmbedSettings, reembed

    s: QuickstartSettings = ctx.settings
    result = reembed(EmbedSettings(episodes=str(ctx.dirs["generate"] / "episodes"),
                                   mineclip=ctx.results["mineclip"]["mineclip"], device=s.device))
    return {"outputs": [], **result}


# --------------------------------------------------------------------------------------------- sampling
def sampling(ctx: StageContext) -> dict:
    from steve1.data.sampling import create_sampling, valid_episodes

    s: QuickstartSettings = ctx.settings
    episodes_dir = ctx.dirs["generate"] / "episodes"
    lens = [n for _, n in valid_episodes(episodes_dir, s.T, s.min_btwn_goals)]
    if len(lens) < 2:
        raise ValueError(f"{episodes_dir} has {len(lens)} episode(s) long enough to train on; need 2 "
                         f"(rerun with --from-stage generate)")
    # all episodes but (about) one for training, one for validation
    train, val = create_sampling(SAMPLING_NAME, ctx.dir, [str(episodes_dir)],
                                 train_frames=sum(lens) - max(lens), val_frames=1, seed=s.seed, T=s.T,
                                 min_btwn_goals=s.min_btwn_goals)
    lists = [str(ctx.dir / f"{SAMPLING_NAME}_{split}.txt") for split in ("train", "val")]
    return {"outputs": lists,
            "train_episodes": len(train), "val_episodes": len(val),
            "train_frames": sum(n for _, n in train), "val_frames": sum(n for _, n in val)}


# --------------------------------------------------------------------------------------------- train
def train(ctx: StageContext) -> dict:
    from steve1.training.config import TrainConfig
    from steve1.training.trainer import train as run_training

    s: QuickstartSettings = ctx.settings
    out_weights = ctx.dir / "policy.weights"
    cfg = TrainConfig(
        policy=s.policy, in_weights=None, out_weights=str(out_weights), sampling=SAMPLING_NAME,
        sampling_dir=str(ctx.dirs["sampling"]), num_workers=0, T=s.T, trunc_t=s.trunc_t,
        min_btwn_goals=s.min_btwn_goals, max_btwn_goals=s.max_btwn_goals, batch_size=s.batch_size,
        gradient_accumulation_steps=1, learning_rate=s.learning_rate, n_frames=s.train_frames,
        warmup_frames=s.train_frames // 10, mixed_precision="no", log_freq=10, save_freq=200,
        val_freq=None, val_freq_switch_steps=0, snapshot_every_n_frames=None,  # no validation, no snapshots
        checkpoint_dir=str(ctx.dir / "checkpoint"), seed=s.seed,
    )
    result = run_training(cfg)
    losses = result.train_losses
    history = {"train_losses": losses, "val_losses": result.val_losses}
    atomic_write_text(ctx.dir / "losses.json", json.dumps(history))
    k = max(1, len(losses) // 10)
    return {"outputs": [str(out_weights), str(ctx.dir / "losses.json")], "policy": s.policy,
            "policy_weights": str(out_weights), "frames": result.frames, "updates": result.n_updates,
            "first_loss": float(np.mean(losses[:k])) if losses else None,
            "last_loss": float(np.mean(losses[-k:])) if losses else None,
            "val_loss": result.best_val_loss if result.val_losses else None,
            "note": f"{s.policy} policy from scratch, {result.frames} frames: {SMALL_NOTE}"}


# --------------------------------------------------------------------------------------------- label
def label(ctx: StageContext) -> dict:
    from steve1.data.captions import build_prior_pairs
    from steve1.data.episode import list_episode_dirs
    from steve1.mineclip import MineClipEmbedder, load_mineclip

    s: QuickstartSettings = ctx.settings
    embedder = MineClipEmbedder(load_mineclip(ctx.results["mineclip"]["mineclip"]), device=s.device)
    episodes = list_episode_dirs(ctx.dirs["generate"] / "episodes")
    data_path = ctx.dir / "data.pkl"
    summary = build_prior_pairs(episodes, embedder.embed_texts, data_path, stride=s.label_stride)
    atomic_write_text(ctx.dir / "labels.json", json.dumps(summary, indent=1))
    return {"outputs": [str(data_path), str(ctx.dir / "labels.json")], "n_pairs": summary["n_pairs"],
            "per_label": summary["per_label"]}


# --------------------------------------------------------------------------------------------- prior
def prior(ctx: StageContext) -> dict:
    from steve1.prior.train import PriorTrainConfig, train_prior

    s: QuickstartSettings = ctx.settings
    n = ctx.results["label"]["n_pairs"]
    out = ctx.dir / "prior.pt"
    cfg = PriorTrainConfig(data_path=str(ctx.dirs["label"] / "data.pkl"), output_path=str(out),
                           batch_size=s.prior_batch_size, n_validation=min(200, n // 5),
                           n_epochs=s.prior_epochs, seed=s.seed, device=s.device)
    state = train_prior(cfg)
    hist = state["history"]
    return {"outputs": [str(out), str(out) + ".history.json"], "prior_weights": str(out), "pairs": n,
            "best_epoch": state["best_epoch"], "best_val_loss": state["best_val"],
            "first_train_loss": hist[0]["train_loss"], "last_train_loss": hist[-1]["train_loss"]}


# --------------------------------------------------------------------------------------------- agent
def agent(ctx: StageContext) -> dict:
    from steve1.agent.models import load_agent_models

    s: QuickstartSettings = ctx.settings
    trained = ctx.results["train"]
    models = load_agent_models(trained["policy"], trained["policy_weights"],
                               mineclip=ctx.results["mineclip"]["mineclip"],
                               prior_weights=ctx.results["prior"]["prior_weights"], device=s.device,
                               seed=s.seed)
    return {**run_prompted_vs_unprompted(ctx, models, "SMALL RUN: MINUTES OF TRAINING", trained["policy"],
                                         trained["policy_weights"]),
            "policy_weights": trained["policy_weights"], "note": SMALL_NOTE}


# --------------------------------------------------------------------------------------------- report
def report(ctx: StageContext) -> dict:
    from steve1.eval.report import plot_results
    from steve1.quickstart.report import write_report

    plots = []
    for stage in ("shipped", "agent"):
        rows = ctx.results[stage].get("rows")
        if rows:
            plots += [str(p) for p in plot_results(rows, ctx.dir / stage)]
    report_path = write_report(ctx.out, ctx.results, ctx.dirs, ctx.settings, plots)
    return {"outputs": [str(report_path), *plots]}


STAGES = (
    Stage("shipped", shipped, "the shipped STEVE-1 on the prompt vs unprompted (no training needed)",
          feeds_later=False),
    Stage("generate", generate, "scripted skills in fast Minetest worlds + per-step state",
          keeps_partial=True),
    Stage("mineclip", mineclip, "train our MineCLIP on the captioned clips", keeps_partial=True),
    Stage("embed", embed, "recompute the episodes' embeddings with it"),
    Stage("sampling", sampling, "train/val episode lists"),
    Stage("train", train, "goal-conditioned training with packed hindsight relabeling", keeps_partial=True),
    Stage("label", label, "pair captioned clips with MineCLIP text embeddings"),
    Stage("prior", prior, "train the CVAE prior on the labelled pairs", keeps_partial=True),
    Stage("agent", agent, "your small agent prompted vs unprompted"),
    Stage("report", report, "metrics tables, plots, report.md"),
)
STAGE_NAMES = tuple(st.name for st in STAGES)
