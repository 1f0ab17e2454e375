"""The quickstart's stages: the STEVE-1 recipe end to end, small, each calling the package's own parts.

    01_generate  mixed agents in Minetest worlds; MineCLIP embeddings computed while episodes run; per-step
                 world state (states.jsonl, written by the generator) for labelling -> episodes/
    02_sampling  train/val episode lists                                -> quickstart_{train,val}.txt
    03_train     goal-conditioned fine-tuning, packed hindsight relabeling -> policy.weights
    04_label     clips labelled from what happened in them, paired with MineCLIP text -> data.pkl, labels.json
    05_prior     the CVAE prior trained on those pairs                  -> prior.pt
    06_agent     the agent on a prompt vs unprompted, same world seeds  -> *.mp4, episodes.csv
    07_report    metrics table, plots, report.md

The same stages at paper scale: train/1_generate_dataset.sh (generate), train/2_create_sampling.sh
(sampling), train/3_train.sh (train), train/4_train_prior.sh on the released data.pkl (prior; the paper paired
~2,000 hand-written instructions with clips by MineCLIP retrieval and augmented them with an LLM; here clips
are captioned automatically from world state by `steve1.data.captions`), run_agent/*.sh (agent).
"""
from __future__ import annotations

import json

import numpy as np

from steve1.data.captions import build_prior_pairs
from steve1.quickstart.runner import Stage, StageContext
from steve1.quickstart.settings import QuickstartSettings
from steve1.utils.atomic import atomic_write_text

SAMPLING_NAME = "quickstart"
UNPROMPTED = "unconditional"  # steve1.eval.report.UNCONDITIONAL_AGENT
PROMPTED = "text prompt"


def _make_world(settings: QuickstartSettings, **kwargs):
    from steve1.envs import make_world

    if settings.world == "minetest":
        from steve1.envs.minetest import minetest_available

        problem = minetest_available()
        if problem:
            raise RuntimeError(f"the quickstart runs on the embedded Minetest world: {problem}")
    return make_world(settings.world, **kwargs)


# --------------------------------------------------------------------------------------------- generate
def generate(ctx: StageContext) -> dict:
    from steve1.data.episode import min_frames_for_training
    from steve1.data.gen_mixed_agents import MixedAgentGenerator
    from steve1.quickstart.models import generation_agents, mineclip_embedder

    s: QuickstartSettings = ctx.settings
    episodes_dir = ctx.dir / "episodes"
    agent1, agent2, agents_note = generation_agents(s)
    embedder, mineclip_note, _ = mineclip_embedder(s)

    need = min_frames_for_training(s.T, s.min_btwn_goals)
    if s.episode_steps < need:
        raise ValueError(f"episode_steps {s.episode_steps} < {need} frames needed for one training sequence")
    gen = MixedAgentGenerator(
        agent1, agent2, lambda slot: _make_world(s), embedder.embed_frames, episodes_dir,
        max_timesteps=s.episode_steps, min_timesteps=need, switch_agent_prob=s.switch_agent_prob,
        perform_spin_prob=s.perform_spin_prob, env_seed=None, seed=s.seed, num_worlds=s.num_worlds,
        world_kind=s.world,
    )
    stats = gen.run(s.num_worlds * s.episodes_per_world)
    if stats.interrupted:  # the complete episodes are saved; the stage is not done
        raise KeyboardInterrupt
    if len(stats.saved) < 2:
        raise RuntimeError(f"only {len(stats.saved)} episode(s) saved ({stats.discarded} discarded, see the "
                           f"messages above); training needs a train and a validation episode")
    return {"outputs": [str(episodes_dir)], "episodes": len(stats.saved), "frames": stats.frames,
            "discarded": stats.discarded, "agents": agents_note, "mineclip": mineclip_note}


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
    s: QuickstartSettings = ctx.settings
    if s.steve1_weights.is_file():
        size = str(s.vpt_model) if s.vpt_model.is_file() else "2x"  # the released policy is VPT 2x
        return {"outputs": [str(s.steve1_weights)], "policy": size,
                "policy_weights": str(s.steve1_weights),
                "note": "released steve1.weights found: used as the policy, fine-tuning skipped"}
    from steve1.training.config import TrainConfig
    from steve1.training.trainer import train as run_training

    out_weights = ctx.dir / "policy.weights"
    cfg = TrainConfig(
        policy="tiny", in_weights=None, out_weights=str(out_weights), sampling=SAMPLING_NAME,
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
    return {"outputs": [str(out_weights), str(ctx.dir / "losses.json")], "policy": "tiny",
            "policy_weights": str(out_weights), "frames": result.frames, "updates": result.n_updates,
            "first_loss": float(np.mean(losses[:k])) if losses else None,
            "last_loss": float(np.mean(losses[-k:])) if losses else None,
            "val_loss": result.best_val_loss if result.val_losses else None,
            "note": "tiny policy (hidsize 64) trained from scratch: no released weights"}


# --------------------------------------------------------------------------------------------- label
def label(ctx: StageContext) -> dict:
    from steve1.data.episode import list_episode_dirs
    from steve1.quickstart.models import mineclip_embedder

    s: QuickstartSettings = ctx.settings
    embedder, mineclip_note, _ = mineclip_embedder(s)
    episodes = list_episode_dirs(ctx.dirs["generate"] / "episodes")
    data_path = ctx.dir / "data.pkl"
    summary = build_prior_pairs(episodes, embedder.embed_texts, data_path, stride=s.label_stride)
    atomic_write_text(ctx.dir / "labels.json", json.dumps(summary, indent=1))
    return {"outputs": [str(data_path), str(ctx.dir / "labels.json")], "n_pairs": summary["n_pairs"],
            "per_label": summary["per_label"], "mineclip": mineclip_note}


# --------------------------------------------------------------------------------------------- prior
def prior(ctx: StageContext) -> dict:
    s: QuickstartSettings = ctx.settings
    if s.prior_weights.is_file() and s.released_mineclip():
        return {"outputs": [str(s.prior_weights)], "prior_weights": str(s.prior_weights),
                "note": "released steve1_prior.pt found: used, prior training skipped"}
    from steve1.prior.train import PriorTrainConfig, train_prior

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
    """Prompted and unprompted episodes from the same world seeds, through `steve1.run.episodes`."""
    import torch

    from steve1.agent import Steve1Agent, zero_goal
    from steve1.eval.results import write_episode_results
    from steve1.prior.model import load_prior
    from steve1.quickstart.models import load_goal_policy, mineclip_embedder, text_goals
    from steve1.run.episodes import EpisodeJob, EpisodeRunner, GoalPlan, RunConfig

    s: QuickstartSettings = ctx.settings
    trained = ctx.results["train"]
    policy = load_goal_policy(trained["policy"], trained["policy_weights"])
    embedder, mineclip_note, released_clip = mineclip_embedder(s)
    prior_model = load_prior(ctx.results["prior"]["prior_weights"])
    goal = text_goals([s.prompt], embedder, prior_model, seed=s.seed)[0]  # (512,)
    random_weights = not (released_clip and s.steve1_weights.is_file())
    jobs = []
    for e in range(s.agent_episodes):
        seed = s.agent_world_seed + e
        for name, plan, scale in ((PROMPTED, GoalPlan.single(goal, s.prompt), s.cond_scale),
                                  (UNPROMPTED, GoalPlan.single(zero_goal(goal.shape[0]), "no prompt"), 0.0)):
            video = ctx.dir / f"{name.replace(' ', '_')}.mp4" if e == 0 else None
            jobs.append(EpisodeJob(f"{name}/{e}", plan, scale, s.agent_steps, seed=seed, video_path=video,
                                   overlay_prompt=True,
                                   meta={"prompt": s.prompt, "agent": name, "episode_index": e,
                                         "cond_scale": scale}))
    rows: list[dict] = []
    agent_ = Steve1Agent(policy, n_worlds=2, cond_scale=s.cond_scale,
                         generator=torch.Generator().manual_seed(s.seed))
    width = round(s.video_height * 16 / 9)
    runner = EpisodeRunner(agent_, lambda slot: _make_world(s),
                           RunConfig(video_size=(width, s.video_height), video_fps=20.0,
                                     banner="RANDOM WEIGHTS" if random_weights else None),
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
            "cond_scale": s.cond_scale, "mineclip": mineclip_note,
            "policy_weights": trained["policy_weights"]}


# --------------------------------------------------------------------------------------------- report
def report(ctx: StageContext) -> dict:
    from steve1.eval.report import plot_results
    from steve1.quickstart.report import write_report

    rows = ctx.results["agent"]["rows"]
    plots = [str(p) for p in plot_results(rows, ctx.dir)]
    report_path = write_report(ctx.out, ctx.results, ctx.dirs, ctx.settings, plots)
    return {"outputs": [str(report_path), *plots]}


STAGES = (
    Stage("generate", generate, "mixed agents in Minetest + MineCLIP embeddings + per-step state"),
    Stage("sampling", sampling, "train/val episode lists"),
    Stage("train", train, "goal-conditioned fine-tuning with packed hindsight relabeling",
          keeps_partial=True),
    Stage("label", label, "label clips from what happened, pair with MineCLIP text embeddings"),
    Stage("prior", prior, "train the CVAE prior on the labelled pairs", keeps_partial=True),
    Stage("agent", agent, "run the agent prompted vs unprompted, write videos and metrics"),
    Stage("report", report, "metrics table, plots, report.md"),
)
STAGE_NAMES = tuple(st.name for st in STAGES)
