"""Samplings: train/val episode lists split by a frame budget (`steve1 create-sampling`).

A sampling `<name>` is `<output_dir>/<name>_train.txt` and `<name>_val.txt`, one episode directory per line
(dataset dir joined with the episode name), readable by the original's `load_sampling`.

The split is the original's: shuffle the valid episodes, take training episodes until their frames reach
`train_frames` (the crossing episode included; None = all but `val_frames`), then validation episodes from the
rest until `val_frames`. Differences from the original (every source used, a seed that fixes the split on
every machine, `--val-from` really held out, atomic writes): DIFFERENCES.md, "Data".
"""
from __future__ import annotations

import logging
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from steve1.cli_config import UsageError, check, report, run_verb, settings_field
from steve1.data.episode import Episode, EpisodeError, list_episode_dirs, min_frames_for_training
from steve1.paths import CONTRACTOR_DATASET_DIR, MIXED_AGENTS_DATASET_DIR, SAMPLINGS_DIR
from steve1.utils.atomic import atomic_write_text
from steve1.utils.checks import check_writable_dir

DEFAULT_DATASET_DIRS = (str(CONTRACTOR_DATASET_DIR), str(MIXED_AGENTS_DATASET_DIR))
DEFAULT_SEED = 42  # the original's random.seed(42)

EpisodeLen = tuple[str, int]
log = logging.getLogger("steve1.sampling")


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
            log.warning("skipping broken episode: %s", e)
            continue
        out.append((str(Path(dataset_dir) / p.name), len(ep)))
    return out


def split_by_frames(
    episodes: list[EpisodeLen], train_frames: int | None, val_frames: int, seed: int = DEFAULT_SEED,
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
    if train_frames is None:  # all frames not used for validation
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
            raise FileNotFoundError(f"sampling {name!r}: {f} does not exist; make it with `steve1 "
                                    f"create-sampling --name {name}` (or CONFIG={name} "
                                    f"train/2_create_sampling.sh when a config of that name is shipped)")
        paths.append([ln.strip() for ln in f.read_text().splitlines() if ln.strip()])
    return paths[0], paths[1]


def create_sampling(
    name: str, output_dir: str | Path, dataset_dirs: list[str] | None = None,
    train_frames: int | None = 30_000, val_frames: int = 10_000, seed: int = DEFAULT_SEED, T: int = 640,
    min_btwn_goals: int = 15,
    val_from: str | None = None,
) -> tuple[list[EpisodeLen], list[EpisodeLen]]:
    """Collect valid episodes from every dataset dir, split them, write `<name>_{train,val}.txt`."""
    explicit = dataset_dirs is not None
    episodes: list[EpisodeLen] = []
    for d in dataset_dirs or DEFAULT_DATASET_DIRS:
        if not Path(d).is_dir():
            if explicit:
                raise FileNotFoundError(f"dataset directory {d} does not exist")
            log.info("default dataset directory %s does not exist; skipping it", d)
            continue
        found = valid_episodes(d, T, min_btwn_goals)
        log.info("%s: %d valid episodes, %d frames", d, len(found), sum(n for _, n in found))
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
        log.info("%s_%s: %d episodes, %d frames", name, split, len(eps), sum(n for _, n in eps))
    return train, val


@dataclass
class SamplingSettings:
    """Train/val episode lists by frame budget, over every dataset folder (`<name>_{train,val}.txt`)."""

    name: str = "neurips"
    """the sampling's name (training reads `--sampling NAME`)"""
    output_dir: str = str(SAMPLINGS_DIR)
    """where the lists go"""
    dataset_dirs: list[str] = settings_field(default_factory=lambda: list(DEFAULT_DATASET_DIRS))
    """episode folders (default: the contractor and mixed-agent datasets, those that exist)"""
    train_frames: int | None = 30_000
    """training frames (none: every frame not used for validation)"""
    val_frames: int = 10_000
    """validation frames"""
    val_from: str | None = None
    """reuse <output_dir>/<val_from>_val.txt as the validation list"""
    seed: int = DEFAULT_SEED
    """shuffle seed (the split is the same on every machine for a seed)"""
    T: int = 640
    """training sequence length: episodes shorter than T + min_btwn_goals are left out"""
    min_btwn_goals: int = 15
    """the training's minimum frames between goals"""
    type: str = settings_field(default="neurips", choices=["neurips"])
    """the split: 'neurips' (frame budget over all dataset folders; the original's only kind)"""

    def __post_init__(self):
        check(self.train_frames is None or self.train_frames >= 0,
              f"--train-frames must be >= 0 (or none: all), got {self.train_frames}")
        check(self.val_frames >= 0, f"--val-frames must be >= 0, got {self.val_frames}")
        check(self.T >= 1 and self.min_btwn_goals >= 1, "--T and --min-btwn-goals must be >= 1")
        check(bool(self.name) and "/" not in self.name and not self.name.startswith("."),
              f"--name {self.name!r} must be a plain file name")


def run(s: SamplingSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    check_writable_dir(s.output_dir, "--output-dir")
    explicit = list(s.dataset_dirs) != list(DEFAULT_DATASET_DIRS)
    try:
        train, val = create_sampling(s.name, s.output_dir, s.dataset_dirs if explicit else None,
                                     s.train_frames, s.val_frames, s.seed, s.T, s.min_btwn_goals, s.val_from)
    except ValueError as e:
        raise UsageError(str(e)) from None
    report(f"sampling {s.name}: {len(train)} train / {len(val)} val episodes in {s.output_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(SamplingSettings, run, argv, verb="create-sampling", config_prefix="sampling")


if __name__ == "__main__":
    sys.exit(main())
