"""Does a MineCLIP of ours know what happens in a clip? Clip -> caption retrieval on episodes it never saw.

    python -m benchmarks.mineclip_retrieval                      # ours (shipped, else the latest trained)
    python -m benchmarks.mineclip_retrieval --weights PATH --episodes DIR
    python -m benchmarks.mineclip_retrieval --synthetic          # synthetic held-out episodes

Every captioned clip (`steve1.data.captions`) of the evaluation episodes is embedded as STEVE-1 embeds
goals (`MineClipEmbedder`: the episode's 128x128 frames resized to 160x256, image tower, temporal pooling)
and compared by cosine with the text embeddings of one caption per event present (k captions). top1 is the
share of clips whose own event's caption is nearest, averaged over events (each event counts the same)
and over the phrasings: with the training phrasings (each in turn, one per event) and with the held-out
phrasings no training run ever saw.

Evaluation episodes: `--episodes DIR`, or generated once from fixed world seeds (not the training seeds)
and cached under data/mineclip_retrieval/: with the scripted skills of `gen-mixed-agents` when this
checkout has them; without them (no `--skills`, no states.jsonl) the benchmark says so and, with
`--synthetic` or as the fallback, uses synthetic episodes (`steve1.mineclip.synthetic`, seed 2; train on
seed 1 to compare) whose figures show that training works, not how it fares on game footage.

Last line: captions=<k> top1=<x> top1_heldout_phrasing=<y> chance=<1/k>
"""
from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np

from steve1 import paths
from steve1.data.captions import CLIP_FRAMES, EVENTS, label_clips
from steve1.data.episode import Episode, list_episode_dirs

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "steve1" / "mineclip" / "weights"  # none shipped yet
TRAINED = paths.WEIGHTS_DIR / "mineclip" / "ours.pth"  # train-mineclip's default output
CACHE = paths.DATA_DIR / "mineclip_retrieval"
EVAL_WORLD_SEED = 90_000  # world seeds of the generated evaluation episodes (training uses others)
EVAL_EPISODES, EVAL_STEPS = 6, 1200
SYNTHETIC_SEED, SYNTHETIC_EPISODES = 2, 2


def default_weights() -> Path:
    shipped = sorted(SHIPPED_DIR.glob("*.pth")) if SHIPPED_DIR.is_dir() else []
    return shipped[0] if shipped else TRAINED


def generator_has_skills() -> bool:
    from steve1.data.gen_mixed_agents import build_parser

    return any("--skills" in a.option_strings for a in build_parser()._actions)


def generate_eval_episodes(out: Path) -> None:
    """Scripted-skill episodes from fixed world seeds through `steve1 gen-mixed-agents` (its CLI)."""
    for i in range(EVAL_EPISODES):
        cmd = [sys.executable, "-m", "steve1.cli", "gen-mixed-agents", "--output_dir", str(out),
               "--world", "minetest", "--skills", "--agent1", "random", "--agent2", "random",
               "--mineclip_config", "fake", "--num_episodes", "1", "--env_seed", str(EVAL_WORLD_SEED + i),
               "--seed", str(EVAL_WORLD_SEED + i), "--max_timesteps", str(EVAL_STEPS),
               "--min_timesteps", str(EVAL_STEPS // 2)]
        subprocess.run(cmd, check=True)


def eval_episodes(args) -> tuple[list[Path], str]:
    if args.episodes:
        return list_episode_dirs(args.episodes), f"episodes {args.episodes}"
    if not args.synthetic:
        real = CACHE / "skills"
        if generator_has_skills():
            if not (real.is_dir() and list_episode_dirs(real)):
                generate_eval_episodes(real)
            return list_episode_dirs(real), f"scripted-skill episodes {real} (world seeds {EVAL_WORLD_SEED}+)"
        print("note: this checkout's gen-mixed-agents has no scripted skills (--skills) and records no "
              "states.jsonl, so no captioned game episodes can be generated; using synthetic episodes")
    from steve1.mineclip.synthetic import write_synthetic_dataset

    synth = CACHE / f"synthetic_seed{SYNTHETIC_SEED}"
    if not synth.is_dir() or not list_episode_dirs(synth):
        write_synthetic_dataset(synth, SYNTHETIC_EPISODES, seed=SYNTHETIC_SEED)
    return list_episode_dirs(synth), f"SYNTHETIC episodes {synth} (seed {SYNTHETIC_SEED})"


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
    from steve1.mineclip.checkpoint import resolve_mineclip

    weights = args.weights or str(default_weights())
    model, desc = resolve_mineclip(weights, device=args.device)
    embedder = MineClipEmbedder(model, device=args.device)
    episodes, data_desc = eval_episodes(args)
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
