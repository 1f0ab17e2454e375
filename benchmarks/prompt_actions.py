"""Does a prompt's goal make the policy do that skill? Offline, on recorded scripted-skill episodes.

    python -m benchmarks.prompt_actions --policy minetest --episodes data/minetest/heldout_skills
    python -m benchmarks.prompt_actions --policy tiny --mineclip tiny --random-weights --episodes DIR  # smoke

Each episode is replayed through the policy once per prompt (the skill's canonical caption -> MineCLIP text ->
prior, held for the whole episode) and once with the zero goal. For every skill segment of the recording
(`skill` in states.jsonl, at least MIN_SEGMENT_STEPS long) the policy's negative log-likelihood of the
scripted skill's actions over the segment's first `--first-steps` steps (buttons + camera, nats, guidance
off) is summed under each prompt's goal; the prompt with the lowest sum is the one the policy "hears" in
that behaviour. A policy that knows what each prompt asks for picks the acting skill's own prompt; one that
ignores its goal picks at chance. The first steps of a segment are where the skill starts from whatever the
previous one left - what a prompted agent has to do at its spawn.

This says whether the prompts' goals carry the skills' actions, not whether the agent reaches them in the
world (benchmarks.steerability measures that). The scoring is teacher-forced: after a segment's first steps
the footage itself shows the skill under way, so a policy can "explain" a skill it would not start. Prints
the confusion table (rows: acting skill, columns: the prompt picked) and, per skill, the mean NLL per step of
its own prompt's goal below the zero goal's.

Then the open-loop response: the first --response-steps frames of the first --response-episodes episodes are
fed to the guided agent (guidance --cond-scale, sampled actions) under each prompt and unprompted, and the
table gives how often it presses forward, jump, attack and use, its mean pitch change upwards (degrees per
step) and its mean |yaw| change. The frames do not follow the agent's actions, so this shows what each prompt
asks the agent to do from the same views, not what it achieves.
Last line: `segments=<n> prompt_accuracy=<x> chance=<1/k> gain_over_zero=<nats per step>`
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np
import torch

from steve1 import paths
from steve1.agent.agent import Steve1Agent
from steve1.agent.goals import text_goals
from steve1.agent.guidance import fill_guidance
from steve1.agent.models import SHIPPED_POLICY_SIZE
from steve1.cli_config import UsageError, check, run_verb
from steve1.data.captions import EVENTS
from steve1.data.episode import Episode, find_episode_dirs
from steve1.data.hindsight import default_action_encoder
from steve1.data.states import read_states
from steve1.run.common import ModelSettings, build_models
from steve1.training.loss import step_nll
from steve1.vpt.actions import agent_to_env_arrays

MIN_SEGMENT_STEPS = 20  # shorter skill segments (cut by a switch or a bump) are not scored
CHUNK_STEPS = 64  # frames per policy forward pass (the recurrent state carries across)


@dataclass
class PromptActionSettings(ModelSettings):
    """Which prompt's goal best explains each recorded skill segment's actions."""

    policy: str = SHIPPED_POLICY_SIZE
    """policy size the weights were trained at (small: the shipped one), a .model file, or minetest"""
    weights: str = str(paths.SHIPPED_POLICY)
    """policy weights (default: the shipped ones) or a file of `steve1 train`"""
    mineclip: str = str(paths.SHIPPED_MINECLIP)
    """MineCLIP: a checkpoint of ours (default: the shipped one) or a config name"""
    prior_weights: str = str(paths.SHIPPED_PRIOR)
    """CVAE prior (default: the shipped one) or a file of `steve1 train-prior`"""
    episodes: str = str(paths.DATA_DIR / "minetest" / "heldout_skills")
    """folders (comma-separated) of scripted-skill episodes with states.jsonl, never trained on (default: the
    recipe's held-out episodes)"""
    first_steps: int = 60
    """steps scored from the start of each skill segment"""
    max_episodes: int = 8
    """episodes read from --episodes"""
    cond_scale: float | None = None
    """guidance scale of the open-loop response (default: the policy's own, else 6)"""
    response_episodes: int = 4
    """episodes whose first frames feed the open-loop response (0: no response table)"""
    response_steps: int = 200
    """frames per episode of the open-loop response"""

    def __post_init__(self):
        fill_guidance(self, "cond_scale")
        check(self.first_steps >= 1, f"--first-steps must be >= 1, got {self.first_steps}")
        check(self.max_episodes >= 1, f"--max-episodes must be >= 1, got {self.max_episodes}")
        check(self.response_episodes >= 0 and self.response_steps >= 1,
              "--response-episodes must be >= 0 and --response-steps >= 1")


@torch.no_grad()
def episode_nll(policy, frames: np.ndarray, buttons: np.ndarray, camera: np.ndarray,
                goal: torch.Tensor) -> np.ndarray:
    """(L,) NLL per step of the recorded actions; frames (L, 128, 128, 3) uint8, goal (D,) held throughout."""
    length = len(frames)
    img = torch.from_numpy(frames)[None]  # (1, L, 128, 128, 3)
    state, out_nll = policy.initial_state(1), []
    for start in range(0, length, CHUNK_STEPS):
        sl = slice(start, min(length, start + CHUNK_STEPS))
        n = sl.stop - sl.start
        first = torch.zeros(1, n, dtype=torch.bool)
        first[0, 0] = start == 0
        out = policy(img[:, sl], first, state, goal.expand(1, n, -1))
        out_nll.append(step_nll(out.logp_buttons, out.logp_camera, torch.from_numpy(buttons[sl])[None],
                                torch.from_numpy(camera[sl])[None])[0].numpy())
        state = out.state
    return np.concatenate(out_nll)


def skill_segments(skills: list, names, min_steps: int = MIN_SEGMENT_STEPS) -> list[tuple[str, int, int]]:
    """(skill, start, end) of the runs of one skill in `names`, at least min_steps long."""
    out, start = [], 0
    for t in range(1, len(skills) + 1):
        if t == len(skills) or skills[t] != skills[start]:
            if skills[start] in names and t - start >= min_steps:
                out.append((skills[start], start, t))
            start = t
    return out


def prompt_goals(args: PromptActionSettings, models) -> dict[str, torch.Tensor]:
    """Skill -> (D,) goal of its canonical caption (MineCLIP text -> prior, seeded by --seed)."""
    names = list(EVENTS)
    gen = torch.Generator().manual_seed(args.seed)
    goal_list = text_goals([EVENTS[n].caption for n in names], models.embedder, models.prior, gen)
    return {n: torch.as_tensor(np.asarray(g), dtype=torch.float32).reshape(-1)
            for n, g in zip(names, goal_list, strict=True)}


def score(args: PromptActionSettings, models, goals: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """(confusion {acting skill: Counter(picked prompt's skill)}, {skill: [nll gain per step over zero]});
    goals: prompt_goals."""
    episode_dirs = find_episode_dirs(args.episodes)[: args.max_episodes]
    names = list(EVENTS)
    zero = torch.zeros_like(goals[names[0]])
    policy = models.policy
    confusion: dict = collections.defaultdict(collections.Counter)
    gains: dict = collections.defaultdict(list)
    for ep_dir in episode_dirs:
        ep = Episode(ep_dir)
        length = len(ep)
        skills = [s.get("skill") for s in read_states(ep_dir, length)[:length]]
        segments = skill_segments(skills, names)
        if not segments:
            continue
        buttons, camera = default_action_encoder(list(ep.actions()[:length]))
        frames = ep.frames(0, length)
        nll = {n: episode_nll(policy, frames, buttons, camera, g) for n, g in goals.items()}
        nll_zero = episode_nll(policy, frames, buttons, camera, zero)
        for skill, start, end in segments:
            seg = slice(start, min(end, start + args.first_steps))
            totals = {n: float(v[seg].sum()) for n, v in nll.items()}
            confusion[skill][min(totals, key=totals.get)] += 1
            gains[skill].append((float(nll_zero[seg].sum()) - totals[skill]) / (seg.stop - seg.start))
    return confusion, gains


RESPONSE_COLUMNS = ("forward", "jump", "attack", "use", "pitch_up", "abs_yaw")


def open_loop_response(args: PromptActionSettings, models,
                       goals: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Prompt (and 'unprompted') -> (6,) means of RESPONSE_COLUMNS over the replayed frames."""
    episodes = [Episode(d) for d in find_episode_dirs(args.episodes)[: args.response_episodes]]
    clips = [ep.frames(0, min(args.response_steps, len(ep))) for ep in episodes]
    n = min(len(c) for c in clips)
    out = {}
    for name, goal in {"unprompted": None, **goals}.items():
        agent = Steve1Agent(models.policy, n_worlds=len(clips), cond_scale=args.cond_scale,
                            generator=torch.Generator().manual_seed(args.seed + 1))
        batch_goal = None if goal is None else np.repeat(goal.numpy()[None], len(clips), 0)  # (N, D)
        rows = []
        for t in range(n):
            buttons, camera = agent.act_classes([{"pov": c[t]} for c in clips], batch_goal)
            a = agent_to_env_arrays(buttons, camera)
            rows.append([a["forward"].mean(), a["jump"].mean(), a["attack"].mean(), a["use"].mean(),
                         -a["camera"][:, 0].mean(), np.abs(a["camera"][:, 1]).mean()])
        out[name] = np.mean(rows, axis=0)
    return out


def run(args: PromptActionSettings) -> int:
    models = build_models(args)
    goals = prompt_goals(args, models)
    confusion, gains = score(args, models, goals)
    names = list(EVENTS)
    n_segments = sum(sum(row.values()) for row in confusion.values())
    if not n_segments:
        raise UsageError(f"no skill segment of >= {MIN_SEGMENT_STEPS} steps in {args.episodes} (states.jsonl "
                         f"'skill' must name scripted skills)")
    print(f"# policy={args.policy} weights={args.weights} episodes={args.episodes} first {args.first_steps} "
          f"steps of each skill segment; rows: acting skill, columns: the prompt whose goal explains its "
          f"actions best")
    print(f"{'':15s}" + "".join(f"{n[:8]:>9s}" for n in names) + "   right  gain/step")
    right = 0
    for skill in names:
        row = confusion.get(skill)
        if not row:
            continue
        n = sum(row.values())
        right += row[skill]
        print(f"{skill:15s}" + "".join(f"{row[p]:9d}" for p in names)
              + f"   {row[skill] / n:5.2f}  {np.mean(gains[skill]):+.3f}")
    if args.response_episodes:
        print(f"# open-loop response, guidance {args.cond_scale:g}: the first {args.response_steps} frames "
              f"of {args.response_episodes} episodes (pitch_up, abs_yaw: degrees per step)")
        print(f"{'prompt':15s}" + "".join(f"{c:>9s}" for c in RESPONSE_COLUMNS))
        for name, row in open_loop_response(args, models, goals).items():
            print(f"{name:15s}" + "".join(f"{v:9.2f}" for v in row))
    all_gains = [g for v in gains.values() for g in v]
    print(f"segments={n_segments} prompt_accuracy={right / n_segments:.3f} chance={1 / len(names):.3f} "
          f"gain_over_zero={np.mean(all_gains):.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(PromptActionSettings, run, argv, verb="benchmarks.prompt_actions")


if __name__ == "__main__":
    raise SystemExit(main())
