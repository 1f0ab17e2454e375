"""Samplings: train/val episode lists split by a frame budget (`train/2_create_sampling.sh`; steve1.md §4).

A sampling `<name>` is `<output_dir>/<name>_train.txt` and `<name>_val.txt`, one episode directory per line
(dataset dir joined with the episode name), readable by the original's `load_sampling`.

The split is the original's: shuffle the valid episodes, take training episodes until their frames reach
`train_frames` (the crossing episode included; -1 = all but `val_frames`), then validation episodes from the
rest until `val_frames`. Differences from the original (fixes):
- all sources are used: the contractor *and* the mixed-agent datasets (the original read only the contractor
  directory, silently dropping the generated data); `--dataset_dirs` picks any set;
- deterministic for a seed on every machine: episodes are sorted by path before the seeded shuffle (the
  original shuffled filesystem order, so `random.seed(42)` did not fix the split; our seed-42
  split is therefore not the original's);
- `--val_from` really removes the reused validation episodes from the training candidates (original bug #5);
- the output directory is created and both files are written atomically; impossible budgets give a
  clear error.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from steve1.data.episode import Episode, EpisodeError, list_episode_dirs, min_frames_for_training
from steve1.paths import CONTRACTOR_DATASET_DIR, MIXED_AGENTS_DATASET_DIR, SAMPLINGS_DIR
from steve1.utils.atomic import atomic_write_text
from steve1.utils.cli import check_int, check_writable_dir, run_verb

DEFAULT_DATASET_DIRS = (str(CONTRACTOR_DATASET_DIR), str(MIXED_AGENTS_DATASET_DIR))
DEFAULT_SEED = 42  # the original's random.seed(42)

EpisodeLen = tuple[str, int]


def valid_episodes(dataset_dir: str | Path, T: int = 640, min_btwn_goals: int = 15) -> list[EpisodeLen]:
    """(path, len) of the episodes long enough for training, sorted by path.

    Each one is checked (`Episode.check`: the video opens and holds len.txt frames, actions and embeds agree
    with it); broken ones are left out and reported with their path."""
    need = min_frames_for_training(T, min_btwn_goals)
    out: list[EpisodeLen] = []
    for p in list_episode_dirs(dataset_dir):
        try:
            ep = Episode(p)
            if not ep.is_valid(for_training=True, min_frames_training=need):
                continue
            ep.check()
        except EpisodeError as e:
            print(f"skipping broken episode: {e}", file=sys.stderr)
            continue
        out.append((str(Path(dataset_dir) / p.name), len(ep)))
    return out


def split_by_frames(
    episodes: list[EpisodeLen], train_frames: int, val_frames: int, seed: int = DEFAULT_SEED,
    val_episodes: list[str] | None = None,
) -> tuple[list[EpisodeLen], list[EpisodeLen]]:
    """Shuffle (seeded, from path order) and fill train, then val, by frame budget."""
    episodes = sorted(episodes)
    total = sum(n for _, n in episodes)
    if val_episodes is not None:
        held = set(val_episodes)
        lens = dict(episodes)
        val = [(p, lens.get(p, 0)) for p in val_episodes]
        episodes = [e for e in episodes if e[0] not in held]
        total = sum(n for _, n in episodes)
        val_frames = 0
    if train_frames == -1:
        train_frames = total - val_frames
    if train_frames < 0 or val_frames < 0 or total < train_frames + val_frames:
        raise ValueError(
            f"the episodes hold {total} frames but train_frames + val_frames = {train_frames + val_frames}; "
            f"generate more data or lower --train_frames/--val_frames"
        )
    rng = random.Random(seed)
    rng.shuffle(episodes)
    train: list[EpisodeLen] = []
    got = 0
    for e in episodes:
        if got >= train_frames:
            break
        train.append(e)
        got += e[1]
    if val_episodes is None:
        val = []
        got = 0
        for e in episodes[len(train):]:
            if got >= val_frames:
                break
            val.append(e)
            got += e[1]
    return train, val


def write_sampling(output_dir: str | Path, name: str, train: list[EpisodeLen], val: list[EpisodeLen]) -> None:
    output_dir = Path(output_dir)
    atomic_write_text(output_dir / f"{name}_train.txt", "".join(f"{p}\n" for p, _ in train))
    atomic_write_text(output_dir / f"{name}_val.txt", "".join(f"{p}\n" for p, _ in val))


def load_sampling(output_dir: str | Path, name: str) -> tuple[list[str], list[str]]:
    """(train paths, val paths) of a sampling written here or by the original."""
    paths = []
    for split in ("train", "val"):
        f = Path(output_dir) / f"{name}_{split}.txt"
        if not f.exists():
            raise FileNotFoundError(f"sampling {name!r}: {f} does not exist; run train/2_create_sampling.sh")
        paths.append([ln.strip() for ln in f.read_text().splitlines() if ln.strip()])
    return paths[0], paths[1]


def create_sampling(
    name: str, output_dir: str | Path, dataset_dirs: list[str] | None = None, train_frames: int = 30_000,
    val_frames: int = 10_000, seed: int = DEFAULT_SEED, T: int = 640, min_btwn_goals: int = 15,
    val_from: str | None = None,
) -> tuple[list[EpisodeLen], list[EpisodeLen]]:
    """Collect valid episodes from every dataset dir, split them, write `<name>_{train,val}.txt`."""
    explicit = dataset_dirs is not None
    episodes: list[EpisodeLen] = []
    for d in dataset_dirs or DEFAULT_DATASET_DIRS:
        if not Path(d).is_dir():
            if explicit:
                raise FileNotFoundError(f"dataset directory {d} does not exist")
            print(f"note: default dataset directory {d} does not exist; skipping it", file=sys.stderr)
            continue
        found = valid_episodes(d, T, min_btwn_goals)
        print(f"{d}: {len(found)} valid episodes, {sum(n for _, n in found)} frames")
        episodes += found
    if not episodes:
        raise ValueError(
            f"no readable episode of at least {min_frames_for_training(T, min_btwn_goals)} frames in "
            f"{list(dataset_dirs or DEFAULT_DATASET_DIRS)}; run train/1_generate_dataset.sh first"
        )
    held = load_sampling(output_dir, val_from)[1] if val_from else None
    train, val = split_by_frames(episodes, train_frames, val_frames, seed, held)
    write_sampling(output_dir, name, train, val)
    for split, eps in (("train", train), ("val", val)):
        print(f"{name}_{split}: {len(eps)} episodes, {sum(n for _, n in eps)} frames")
    return train, val


def build_parser() -> argparse.ArgumentParser:
    return add_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]))


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--type", default="neurips", choices=["neurips"],
                   help="'neurips': frame-budget split over all dataset dirs")
    p.add_argument("--name", default="neurips")
    p.add_argument("--output_dir", default=str(SAMPLINGS_DIR))
    p.add_argument("--dataset_dirs", nargs="+", default=None,
                   help=f"episode directories (default: {' '.join(DEFAULT_DATASET_DIRS)}, those that exist)")
    p.add_argument("--train_frames", type=int, default=30_000, help="-1: all frames not used for val")
    p.add_argument("--val_frames", type=int, default=10_000)
    p.add_argument("--val_from", default=None, help="reuse <output_dir>/<val_from>_val.txt as validation")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--T", type=int, default=640)
    p.add_argument("--min_btwn_goals", type=int, default=15)
    return p


def check_arguments(a: argparse.Namespace) -> None:
    check_int(a.train_frames, "--train_frames", minimum=0, also=(-1,))
    check_int(a.val_frames, "--val_frames", minimum=0)
    check_int(a.T, "--T", minimum=1)
    check_int(a.min_btwn_goals, "--min_btwn_goals", minimum=1)
    if not a.name or "/" in a.name or a.name.startswith("."):
        raise ValueError(f"--name {a.name!r} must be a plain file name")
    check_writable_dir(a.output_dir, "--output_dir")


def run(a: argparse.Namespace) -> int:
    create_sampling(a.name, a.output_dir, a.dataset_dirs, a.train_frames, a.val_frames, a.seed, a.T,
                    a.min_btwn_goals, a.val_from)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb("steve1 create-sampling", __doc__.split("\n")[0], add_arguments, run, argv,
                    check=check_arguments)


if __name__ == "__main__":
    sys.exit(main())
