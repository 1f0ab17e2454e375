"""Does a MineCLIP of ours know what happens in a clip? Clip -> caption retrieval on episodes it never saw.

    python -m benchmarks.mineclip_retrieval                      # ours (shipped, else the latest trained)
    python -m benchmarks.mineclip_retrieval --weights minetest   # the shipped one
    python -m benchmarks.mineclip_retrieval --weights PATH --episodes DIR
    python -m benchmarks.mineclip_retrieval --synthetic          # synthetic held-out episodes

Every captioned clip (`steve1.data.captions`) of the evaluation episodes is embedded as STEVE-1 embeds
goals (`MineClipEmbedder`: the episode's 128x128 frames resized to 160x256, image tower, temporal pooling)
and compared by cosine with the text embeddings of one caption per event present (k captions). top1 is the
share of clips whose own event's caption is nearest, averaged over events (each event counts the same)
and over the phrasings: with the training phrasings (each in turn, one per event) and with the held-out
phrasings no training run ever saw.

Evaluation episodes: `--episodes DIR`, or generated once with the scripted skills of `gen-mixed-agents`
(--fast worlds) from fixed run seeds and cached under data/mineclip_retrieval/: 16 episodes of the skill mix
(`episodes`), and 8 each of chop a tree and collect seeds alone (`episodes_<skill>`: in the mix a log or
seeds come a few times in 16 episodes, too few clips to score those events). Their world seeds are checked
against those of the training runs (and of the episodes the checkpoint's sidecar names) and never overlap
them. `--synthetic` uses synthetic episodes (`steve1.mineclip.synthetic`, seed 2; train on seed 1 to
compare) whose figures show that training works, not how it fares on game footage.

Weights: `--weights PATH_OR_NAME`, default the MineCLIP this package ships (`minetest`), else the latest
one trained (data/weights/mineclip/ours.pth).

Last line: captions=<k> top1=<x> top1_heldout_phrasing=<y> chance=<1/k>
"""
from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from steve1 import paths
from steve1.data.captions import CLIP_FRAMES, EVENTS, label_clips
from steve1.data.episode import Episode, list_episode_dirs

TRAINED = paths.WEIGHTS_DIR / "mineclip" / "ours.pth"  # train-mineclip's default output
CACHE = paths.DATA_DIR / "mineclip_retrieval"
EVAL_MAX_STEPS, EVAL_MIN_STEPS = 1000, 500
# The generated evaluation sets: (cache folder, skills, episodes, run seed; the world seeds derive from it).
# 16 mixed episodes: with 6, some events had 1-4 clips (dig dirt 1), and each event weighs the same in top1.
EVAL_SETS = (
    ("episodes", "chop_tree+dig_dirt+collect_seeds+look_at_sky+explore+swim+build_tower+place_blocks", 16,
     90_000),
    ("episodes_chop_tree", "chop_tree", 8, 90_001),
    ("episodes_collect_seeds", "collect_seeds", 8, 90_002),
)
# The runs the shipped models were trained on (run seed, episodes): the evaluation's world seeds avoid theirs.
TRAINING_RUNS = ((1, 120),)
SYNTHETIC_SEED, SYNTHETIC_EPISODES = 2, 2
_SEED_IN_NAME = re.compile(r"_seed(\d+)_")


def default_weights() -> Path:
    """The MineCLIP this package ships, else the latest one trained (train-mineclip's default output)."""
    return paths.SHIPPED_MINECLIP if paths.SHIPPED_MINECLIP.is_file() else TRAINED


def training_world_seeds(weights: Path) -> set[int]:
    """World seeds of the known training runs, plus those of the episodes the checkpoint's sidecar names."""
    from steve1.data.gen_mixed_agents import episode_seed
    from steve1.mineclip.checkpoint import read_sidecar

    seeds = {episode_seed(run, k) for run, n in TRAINING_RUNS for k in range(n)}
    meta = read_sidecar(weights) if weights.is_file() else None
    for folder in str(((meta or {}).get("trained") or {}).get("episodes", "")).split(","):
        if folder.strip() and Path(folder.strip()).is_dir():
            seeds |= {int(m.group(1)) for d in Path(folder.strip()).iterdir()
                      if (m := _SEED_IN_NAME.search(d.name))}
    return seeds


def eval_world_seeds() -> list[int]:
    from steve1.data.gen_mixed_agents import episode_seed

    return [episode_seed(run_seed, k) for _, _, n, run_seed in EVAL_SETS for k in range(n)]


def generate_eval_episodes(out: Path, skills: str, episodes: int, run_seed: int) -> None:
    """Scripted-skill episodes of one run seed through `steve1 gen-mixed-agents` (resumes)."""
    cmd = [sys.executable, "-m", "steve1.cli", "gen-mixed-agents", "--output-dir", str(out),
           "--num-episodes", str(episodes), "--num-worlds", "2", "--fast", "--skills", skills,
           "--max-timesteps", str(EVAL_MAX_STEPS), "--min-timesteps", str(EVAL_MIN_STEPS),
           "--seed", str(run_seed), "--mineclip", "fake"]
    print(f"generating evaluation episodes once (cached in {out}): {' '.join(cmd[1:])}", flush=True)
    subprocess.run(cmd, check=True)


def eval_episodes(args, weights: Path) -> tuple[list[Path], str]:
    if args.episodes:
        return list_episode_dirs(args.episodes), f"episodes {args.episodes}"
    if args.synthetic:
        from steve1.mineclip.synthetic import write_synthetic_dataset

        synth = CACHE / f"synthetic_seed{SYNTHETIC_SEED}"
        if not synth.is_dir() or not list_episode_dirs(synth):
            write_synthetic_dataset(synth, SYNTHETIC_EPISODES, seed=SYNTHETIC_SEED)
        return list_episode_dirs(synth), f"SYNTHETIC episodes {synth} (seed {SYNTHETIC_SEED})"
    overlap = set(eval_world_seeds()) & training_world_seeds(weights)
    if overlap:
        raise SystemExit(f"evaluation world seeds {sorted(overlap)} are training seeds: change EVAL_SETS")
    dirs, parts = [], []
    for folder, skills, episodes, run_seed in EVAL_SETS:
        real = CACHE / folder
        if len(list_episode_dirs(real) if real.is_dir() else []) < episodes:
            generate_eval_episodes(real, skills, episodes, run_seed)
        dirs += list_episode_dirs(real)
        parts.append(f"{real} (run seed {run_seed})")
    return dirs, f"scripted-skill episodes {', '.join(parts)}, world seeds not trained on"


def clip_embeddings(embedder, episode_dirs: list[Path]) -> tuple[np.ndarray, list[str]]:
    """(N, D) video embeddings of every captioned clip and their events."""
    from steve1.data.states import read_states

    videos, events = [], []
    for ep_dir in episode_dirs:
        ep = Episode(ep_dir)
        clips = label_clips(read_states(ep_dir, len(ep))[: len(ep)])
        if not clips:
            continue
        frames = ep.frames()  # (T, 128, 128, 3)
        features = embedder.frame_features(frames)  # (T, D), each frame once
        for c in clips:
            window = features[c.step - CLIP_FRAMES + 1 : c.step + 1]  # (16, D)
            videos.append(embedder.pool_windows(window).cpu().numpy()[0])
            events.append(c.event)
    if not videos:
        raise SystemExit("no captioned clip in the evaluation episodes (states.jsonl missing or nothing "
                         "happened)")
    return np.stack(videos), events


def top1(videos: np.ndarray, events: list[str], texts: np.ndarray, names: list[str]) -> dict[str, float]:
    """Per event: share of its clips whose nearest caption (cosine) is its own. texts (k, D) in `names`."""
    v = videos / np.linalg.norm(videos, axis=1, keepdims=True)
    t = texts / np.linalg.norm(texts, axis=1, keepdims=True)
    guess = np.asarray(names)[np.argmax(v @ t.T, axis=1)]
    ev = np.asarray(events)
    return {e: float(np.mean(guess[ev == e] == e)) for e in names}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="a MineCLIP checkpoint (default: ours, shipped or "
                                                        f"trained at {TRAINED}) or a config name")
    parser.add_argument("--episodes", default=None, help="folder of evaluation episodes with states.jsonl")
    parser.add_argument("--synthetic", action="store_true", help="synthetic held-out episodes")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from steve1.mineclip import MineClipEmbedder
    from steve1.mineclip.checkpoint import mineclip_file, resolve_mineclip

    weights = args.weights or str(default_weights())
    model, desc = resolve_mineclip(weights, device=args.device)
    embedder = MineClipEmbedder(model, device=args.device)
    episodes, data_desc = eval_episodes(args, mineclip_file(weights))
    videos, events = clip_embeddings(embedder, episodes)
    names = [e for e in EVENTS if e in set(events)]  # the k events present
    n_train = min(len(EVENTS[e].train_phrasings) for e in names)
    n_held = min(len(EVENTS[e].heldout_phrasings) for e in names)
    train_acc = [top1(videos, events, embedder.embed_texts([EVENTS[e].train_phrasings[j] for e in names]),
                      names) for j in range(n_train)]
    held_acc = [top1(videos, events, embedder.embed_texts([EVENTS[e].heldout_phrasings[j] for e in names]),
                     names) for j in range(n_held)]
    print(f"model: {desc}")
    print(f"data: {data_desc}: {len(episodes)} episodes, {len(events)} captioned clips")
    print(f"{'event':<14} {'clips':>6} {'top1':>6} {'top1_heldout':>13}  canonical caption")
    for e in names:
        tr = np.mean([a[e] for a in train_acc])
        he = np.mean([a[e] for a in held_acc])
        print(f"{e:<14} {events.count(e):>6} {tr:>6.3f} {he:>13.3f}  {EVENTS[e].caption!r}")
    k = len(names)
    top1_train = float(np.mean([np.mean(list(a.values())) for a in train_acc]))
    top1_held = float(np.mean([np.mean(list(a.values())) for a in held_acc]))
    print(f"captions={k} top1={top1_train:.3f} top1_heldout_phrasing={top1_held:.3f} chance={1 / k:.3f}")


if __name__ == "__main__":
    main()
