"""Run many episodes over B worlds with one batched agent: a queue of jobs, B slots, retries on world faults.

Each slot holds one world and one episode at a time. Every step, the agent acts for all busy slots at once
(one guided policy call per distinct guidance scale), then all their worlds are stepped together (actions
sent to every world before waiting, so real-time worlds overlap). When an episode ends its slot takes the
next job; its agent row is marked `first` so only its memory is cleared.

Per episode: programmatic and world metrics (steve1.eval.metrics; a job's `start_items` are given to the
player after the reset, and then the inventory metrics count what was gained over them), an mp4 streamed
to disk (the post-step frames, resized, as the original), optionally the MineCLIP embedding of every
16-frame window (each raw frame goes through the image tower once, batched across slots; the windows are
pooled at the end).

A world fault (an exception from the world, or a step the world reports as recovered from a crash with
`truncated` and `info["fault"]`) abandons that episode: its partial video is deleted, the world is closed
and replaced, and the episode is run again from its seed (up to `max_retries` times) inside the program;
the other slots carry on. Errors that say the setup is wrong (missing install, bad argument) are raised.
The world slots, faults and retries are steve1.envs.scheduler's (shared with the data generator).

Differences from the original `run_agent.py` (documented): the world is seeded *before* its reset (the
original seeded after, so the seed only took effect at the next reset); `terminated` from the world ends
the episode (the original ignored `done`; MineRL HumanSurvival and Minetest never set it).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from steve1.agent.agent import Steve1Agent
from steve1.envs.base import World
from steve1.envs.scheduler import WorldScheduler
from steve1.eval.metrics import ProgrammaticMetrics, WorldMetrics
from steve1.mineclip import VIDEO_FRAMES, MineClipEmbedder
from steve1.run.video_stream import VideoStream
from steve1.utils.frames import resize_linear

log = logging.getLogger("steve1.run")



@dataclass(frozen=True)
class GoalPlan:
    """The goals of one episode: goal k (row k of `embeds`, (K, D)) is active from step `starts[k]`."""

    embeds: np.ndarray  # (K, D) float32
    starts: tuple[int, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        k = len(self.starts)
        if self.embeds.ndim != 2 or self.embeds.shape[0] != k or len(self.labels) != k or k == 0:
            raise ValueError(f"a goal plan needs K >= 1 goals (K, D) with K starts and K labels; got embeds "
                             f"{self.embeds.shape}, {k} starts, {len(self.labels)} labels")
        if self.starts[0] != 0 or any(b <= a for a, b in zip(self.starts, self.starts[1:], strict=False)):
            raise ValueError(f"goal starts must begin at 0 and increase, got {self.starts}")

    @classmethod
    def single(cls, embed: np.ndarray, label: str) -> GoalPlan:
        return cls(np.asarray(embed, np.float32).reshape(1, -1), (0,), (label,))

    def index_at(self, step: int) -> int:
        return int(np.searchsorted(self.starts, step, side="right")) - 1


@dataclass
class EpisodeJob:
    """One episode to run. `key` names it (unique); `meta` is copied into its result row."""

    key: str
    plan: GoalPlan
    cond_scale: float
    n_steps: int
    seed: int | None = None
    meta: dict = field(default_factory=dict)
    video_path: Path | None = None
    overlay_prompt: bool = False  # draw the active prompt on every frame
    start_items: dict = field(default_factory=dict)  # Minetest item -> count given at the start (world.give)
    attempts: int = 0  # retries so far (counted by the scheduler)
    faults: list[str] = field(default_factory=list)  # what went wrong in the earlier attempts


@dataclass
class EpisodeResult:
    job: EpisodeJob
    steps: int
    metrics: dict[str, float]
    window_embeds: np.ndarray | None  # (steps - 15, D) MineCLIP embedding of frames t-15..t, or None
    prompts: list[str]  # the active prompt label at every recorded frame
    faults: list[str]  # the faults of earlier attempts (each one retried)
    wall_s: float

    def row(self) -> dict:
        """The per-episode result row (meta, key, seed, steps, attempts, metrics)."""
        return {"episode": self.job.key, **self.job.meta, "world_seed": self.job.seed, "steps": self.steps,
                "attempts": self.job.attempts, "wall_s": round(self.wall_s, 2), **self.metrics}


@dataclass
class RunConfig:
    """How episodes are recorded."""

    video_size: tuple[int, int] | None = (128, 128)  # (W, H) of the saved frames; None: the raw pov
    video_fps: float = 30.0
    banner: str | None = None  # drawn on every frame (e.g. "RANDOM WEIGHTS")
    max_retries: int = 2
    embedder: MineClipEmbedder | None = None  # when set, MineCLIP window embeddings are computed


class _Slot:
    """The running episode of one world."""

    def __init__(self, job: EpisodeJob, obs: dict, cfg: RunConfig, embed: bool):
        self.job = job
        self.obs = obs
        self.step = 0
        self.metrics = ProgrammaticMetrics(obs, count_from_start=bool(job.start_items))
        self.world_metrics = WorldMetrics(obs)
        self.video = VideoStream(job.video_path, cfg.video_fps) if job.video_path is not None else None
        self.prompts: list[str] = []
        self.pending: list[np.ndarray] = []  # raw frames not yet through MineCLIP's image tower
        self.features: list[torch.Tensor] = [] if embed else None
        self.t0 = time.perf_counter()

    def goal_index(self) -> int:
        return self.job.plan.index_at(self.step)


class EpisodeRunner:
    """Runs jobs over `n_worlds` worlds made by `make_world(slot)`; calls `on_done(result)` per episode.

    `on_failed(job, message)` is called for an episode that still faults after `max_retries` retries.
    The worlds, their faults and retries are steve1.envs.scheduler's; this class is what an episode records.
    """

    def __init__(self, agent: Steve1Agent, make_world: Callable[[int], World], cfg: RunConfig | None = None,
                 on_done: Callable[[EpisodeResult], None] | None = None,
                 on_failed: Callable[[EpisodeJob, str], None] | None = None, progress: bool = True):
        self.agent = agent
        self.n_worlds = agent.n_worlds
        self.cfg = cfg or RunConfig()
        self.on_done = on_done or (lambda result: None)
        self.progress = progress
        self.scheduler = WorldScheduler(make_world, self.n_worlds, self.cfg.max_retries, on_failed)
        self._bar = None

    @property
    def failures(self) -> list[tuple[str, str]]:
        return self.scheduler.failures

    def close(self) -> None:
        self.scheduler.close()

    # ---------------------------------------------------------------- the scheduler's task
    def start(self, slot: int, job: EpisodeJob, world: World, obs: dict, info: dict) -> _Slot:
        self.agent.reset(worlds=[slot])
        if job.start_items:
            give = getattr(world, "give", None)
            if give is None:
                raise ValueError(f"episode {job.key}: start items need a world with give() (Minetest)")
            for item, count in job.start_items.items():
                obs = give(item, count)
        return _Slot(job, obs, self.cfg, self.cfg.embedder is not None)

    def act(self, slots: list[int], states: list[_Slot]) -> list[dict]:
        if any(s.features is not None and len(s.pending) >= VIDEO_FRAMES for s in states):
            self._embed_pending(states)
        goals = np.stack([s.job.plan.embeds[s.goal_index()] for s in states])  # (b, D)
        return self.agent.act([s.obs for s in states], goals, worlds=slots,
                              cond_scale=[s.job.cond_scale for s in states])

    def step(self, slot: int, state: _Slot, action: dict, obs: dict, reward: float, terminated: bool,
             truncated: bool, info: dict) -> bool:
        label = state.job.plan.labels[state.goal_index()]
        state.step += 1
        state.obs = obs
        state.metrics.update(obs)
        state.world_metrics.update(obs, info.get("senses"))
        self._record(state, obs, label)
        if self._bar is not None:
            self._bar.update(1)
        if state.step >= state.job.n_steps or terminated:
            self._finish(state)
            return True
        return False

    def abandon(self, slot: int, state: _Slot, message: str) -> None:
        if state.video is not None:
            state.video.discard()

    def stop(self, slot: int, state: _Slot, error: BaseException) -> None:
        self.abandon(slot, state, str(error))

    # ---------------------------------------------------------------- recording
    def _record(self, slot: _Slot, obs: dict, label: str) -> None:
        """Keep the frame after a step, labelled with the prompt that step was taken for."""
        pov = obs["pov"]
        slot.prompts.append(label)
        if slot.video is not None:
            size = self.cfg.video_size
            frame = pov if size is None else resize_linear(pov, (size[1], size[0]))
            text = " | ".join(t for t in (self.cfg.banner, label if slot.job.overlay_prompt else None) if t)
            slot.video.write(np.ascontiguousarray(frame), text or None)
        if slot.features is not None:
            slot.pending.append(pov)

    def _embed_pending(self, slots: Sequence[_Slot]) -> None:
        """Run the pending raw frames of these slots through MineCLIP's image tower in one batch."""
        slots = [s for s in slots if s.features is not None and s.pending]
        if not slots:
            return
        feats = self.cfg.embedder.frame_features(np.stack([f for s in slots for f in s.pending]))  # (N, D)
        start = 0
        for s in slots:
            n = len(s.pending)
            s.features.append(feats[start:start + n])
            start += n
            s.pending = []

    def _finish(self, slot: _Slot) -> None:
        window_embeds = None
        if slot.features is not None:
            self._embed_pending([slot])
            feats = torch.cat(slot.features) if slot.features else None
            if feats is not None and feats.shape[0] >= VIDEO_FRAMES:
                window_embeds = self.cfg.embedder.pool_windows(feats).cpu().numpy()
        metrics = {**slot.metrics.results()[0], **slot.world_metrics.results()}
        result = EpisodeResult(slot.job, slot.step, metrics, window_embeds, slot.prompts,
                               list(slot.job.faults), time.perf_counter() - slot.t0)
        self.on_done(result)  # results are written before the video appears (the video marks "done")
        if slot.video is not None:
            slot.video.finish()

    def run(self, jobs: Sequence[EpisodeJob]) -> list[tuple[str, str]]:
        """Run every job; returns the (key, message) of episodes that failed after their retries."""
        total = sum(j.n_steps for j in jobs)
        if self.progress and total:
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit="step", desc="episodes")
        try:
            return self.scheduler.run(jobs, self)
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
