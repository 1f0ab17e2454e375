"""Minetest visual prompts (`steve1 visual-prompts`): one 16-frame clip embedding per skill, from held-out
generated episodes, as the paper's visual prompts (small files: a (1, D) float32 pickle per skill).

    steve1 visual-prompts --generate 16 --mineclip minetest     # generate held-out episodes, then choose

With `--generate N`, N scripted-skill episodes are first generated into --episodes (gen-mixed-agents with
the skill mix, the fast world, run seed --run-seed: world seeds checked against the training data's, see
steve1.eval.seeds); a rerun resumes that generation. Then for every skill the first clip (in episode-name
order) that the captions (steve1.data.captions) label with the skill's event, while that skill acted over
all 16 frames, is the prompt: frames t-15..t of the episode's frames.mp4, embedded with --mineclip (the
same frames and code `steve1 embed` uses, so the prompt equals the stored embedding `EPISODE_DIR@t` of an
episode re-embedded with that MineCLIP).

Output (--out-dir, default the package's steve1/weights/minetest/visual_prompts): `<skill>.pkl` (the goal,
what `--visual <skill>` reads), `<skill>.mp4` (the 16 frames, to look at; re-encoded, so its embedding is
close to, not equal to, the pickle's) and `visual_prompts.json` (where each clip came from, the MineCLIP).
"""
from __future__ import annotations

import json
import logging
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steve1 import paths
from steve1.agent.goals import SHIPPED_VISUAL_PROMPTS_DIR, visual_goal_from_frames
from steve1.cli_config import NothingProduced, UsageError, check, report, run_verb
from steve1.data.captions import CLIP_FRAMES, EVENTS, label_clips
from steve1.data.episode import PICKLE_PROTOCOL, Episode, list_episode_dirs
from steve1.data.states import StatesError, read_states
from steve1.eval.seeds import TRAINING_EPISODES, TRAINING_RUN_SEEDS, check_held_out, parse_run_seeds
from steve1.utils.atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger("steve1.visual_prompts")

HELDOUT_RUN_SEED = 20261201  # the generation run of the held-out episodes (never the training run's)
HELDOUT_DIR = paths.DATA_DIR / "heldout_skills"
INDEX_FILE = "visual_prompts.json"
GENERATE_STEPS = 1000  # steps per generated episode (as the training data's longest)
GENERATE_WORLDS = 4


@dataclass
class VisualPromptSettings:
    """One 16-frame clip embedding per skill from held-out episodes: the Minetest visual prompts."""

    episodes: Path = HELDOUT_DIR
    """folder of held-out generated episodes (with states.jsonl; gen-mixed-agents --skills makes them)"""
    generate: int = 0
    """first generate this many held-out scripted-skill episodes into --episodes (resumes)"""
    run_seed: int = HELDOUT_RUN_SEED
    """run seed of that generation (its world seeds must not be the training data's)"""
    skills: str = ",".join(EVENTS)
    """comma-separated skills (caption events) to make prompts for"""
    mineclip: str = paths.SHIPPED_NAME
    """MineCLIP that embeds the clips: minetest (shipped), a checkpoint of ours, or a config name"""
    mineclip_weights: str = str(paths.MINECLIP_WEIGHTS)
    """the released attn.pth (for --mineclip attn)"""
    out_dir: Path = SHIPPED_VISUAL_PROMPTS_DIR
    """where <skill>.pkl, <skill>.mp4 and visual_prompts.json go"""
    device: str = "cpu"
    """torch device of MineCLIP"""
    training_run_seeds: str = ",".join(map(str, TRAINING_RUN_SEEDS))
    """comma-separated run seeds of the training data's generations (their episodes' world seeds are
    refused)"""

    def __post_init__(self):
        check(self.generate >= 0, f"--generate must be >= 0, got {self.generate}")
        check(self.run_seed not in parse_run_seeds(self.training_run_seeds),
              "--run-seed must differ from the training runs' seeds")
        self.skill_list()

    def skill_list(self) -> list[str]:
        names = [s.strip() for s in self.skills.split(",") if s.strip()]
        bad = [s for s in names if s not in EVENTS]
        check(bool(names) and not bad, f"--skills: unknown {bad}; choose from {', '.join(EVENTS)}")
        return names


def generate(args: VisualPromptSettings) -> None:
    """The held-out episodes: gen-mixed-agents with every skill in the mix (resumes a killed run)."""
    from steve1.data import gen_mixed_agents

    argv = ["--output-dir", str(args.episodes), "--num-episodes", str(args.generate),
            "--num-worlds", str(GENERATE_WORLDS), "--fast", "--skills", "+".join(EVENTS),
            "--max-timesteps", str(GENERATE_STEPS), "--min-timesteps", str(GENERATE_STEPS // 2),
            "--seed", str(args.run_seed), "--mineclip", "fake"]  # embeddings are recomputed from the frames
    status = gen_mixed_agents.main(argv)
    if status:
        raise NothingProduced(f"generating held-out episodes into {args.episodes} failed (exit {status})")


def find_clips(episode_dirs, skills) -> dict[str, tuple[Path, int]]:
    """Skill -> (episode dir, last frame t) of its first clip captioned with the skill's event while the
    skill acted on all 16 frames; for a skill that never did, the first clip with its caption whoever acted
    (a walker that ended up in water shows swimming as well as the swim skill)."""
    pure: dict[str, tuple[Path, int]] = {}
    any_actor: dict[str, tuple[Path, int]] = {}
    for ep_dir in episode_dirs:
        try:
            states = read_states(ep_dir, len(Episode(ep_dir)))
        except (StatesError, ValueError) as err:
            log.warning("skipping %s: %s", ep_dir, err)
            continue
        for clip in label_clips(states, stride=1):  # every clip a candidate, not every 16th
            if clip.event not in skills:
                continue
            any_actor.setdefault(clip.event, (Path(ep_dir), clip.step))
            if clip.event not in pure and all(
                    s.get("skill") == clip.event for s in states[clip.step - CLIP_FRAMES + 1: clip.step + 1]):
                pure[clip.event] = (Path(ep_dir), clip.step)
        if len(pure) == len(skills):
            break
    return {skill: pure.get(skill) or any_actor[skill] for skill in skills if skill in any_actor}


def _episode_seeds(episode_dirs) -> list[int]:
    seeds = []
    for ep_dir in episode_dirs:
        seed = Episode(ep_dir).metadata.get("seed")
        if isinstance(seed, int):
            seeds.append(seed)
    return seeds


def run(args: VisualPromptSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from steve1.mineclip import MineClipEmbedder, resolve_mineclip

    mineclip = str(paths.SHIPPED_MINECLIP) if args.mineclip == paths.SHIPPED_NAME else args.mineclip
    if args.mineclip == paths.SHIPPED_NAME and not paths.SHIPPED_MINECLIP.is_file():
        raise UsageError(f"the shipped MineCLIP {paths.SHIPPED_MINECLIP} is not in this install; pass "
                         f"--mineclip PATH (a train-mineclip checkpoint)")
    if args.generate:
        generate(args)
    episode_dirs = list_episode_dirs(args.episodes) if Path(args.episodes).is_dir() else []
    if not episode_dirs:
        raise UsageError(f"{args.episodes} holds no episodes; pass --generate N to make held-out ones")
    check_held_out(_episode_seeds(episode_dirs), parse_run_seeds(args.training_run_seeds), TRAINING_EPISODES)
    skills = args.skill_list()
    clips = find_clips(episode_dirs, skills)
    missing = [s for s in skills if s not in clips]
    if len(missing) == len(skills):
        raise NothingProduced(f"no clip of the {len(episode_dirs)} episodes in {args.episodes} shows any of "
                              f"{skills}; generate more (--generate N)")
    model, what = resolve_mineclip(mineclip, args.mineclip_weights, device=args.device)
    embedder = MineClipEmbedder(model.eval(), device=args.device)
    # Names, not this machine's paths: the index ships with the package.
    index = {"mineclip": what.replace(str(mineclip), Path(mineclip).name),
             "episodes": Path(args.episodes).name, "prompts": {}}
    from steve1.eval.video import write_video

    for skill, (ep_dir, step) in clips.items():
        frames = Episode(ep_dir).frames(step - CLIP_FRAMES + 1, step + 1)  # (16, H, W, 3) RGB
        goal = visual_goal_from_frames(frames, embedder).astype(np.float32)  # (1, D)
        atomic_write_bytes(Path(args.out_dir) / f"{skill}.pkl", pickle.dumps(goal, protocol=PICKLE_PROTOCOL))
        write_video(frames, Path(args.out_dir) / f"{skill}.mp4", fps=20.0)
        index["prompts"][skill] = {"episode": ep_dir.name, "step": step, "caption": EVENTS[skill].caption}
        log.info("%s: %s frames %d..%d", skill, ep_dir.name, step - CLIP_FRAMES + 1, step)
    atomic_write_text(Path(args.out_dir) / INDEX_FILE, json.dumps(index, indent=1, sort_keys=True) + "\n")
    if missing:
        log.warning("no clip for %s in %s: generate more episodes (--generate N)", missing, args.episodes)
    report(f"{len(clips)} visual prompts in {args.out_dir}"
           + (f"; none found for {', '.join(missing)}" if missing else ""))
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(VisualPromptSettings, run, argv, verb="visual-prompts")


if __name__ == "__main__":
    sys.exit(main())
