"""`steve1 prior-data`: the prior's (text, visual) training pairs from generated episodes.

Every clip of the episodes that got a caption (`steve1.data.captions`: what happened in it, from the
recorded world state) becomes one pair: the MineCLIP text embedding of its canonical caption and the clip's
stored visual embedding (`embeds[t]`). Written in the released `data.pkl` layout, so `steve1 train-prior`
reads it like the original's, plus `<out>.labels.json` (pairs per caption and which clip each came from).
Run it after `steve1 embed` with the same `--mineclip`: the text and visual sides must share one space.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from steve1 import paths
from steve1.cli_config import check, report, run_verb
from steve1.data.captions import LABEL_STRIDE, build_prior_pairs
from steve1.data.episode import find_episode_dirs
from steve1.utils.atomic import atomic_write_text
from steve1.utils.checks import check_writable_dir

log = logging.getLogger(__name__)


@dataclass
class PriorDataSettings:
    """The prior's (text, visual) pairs from the captioned clips of generated episodes -> data.pkl."""

    episodes: str = str(paths.MIXED_AGENTS_DATASET_DIR)
    """folder(s) of episode directories with states.jsonl, comma-separated"""
    mineclip: str = "attn"
    """the MineCLIP whose text tower embeds the captions: the one the episodes were embedded with
    (attn: the released file; a checkpoint path of ours)"""
    mineclip_weights: str = str(paths.MINECLIP_WEIGHTS)
    """where the released attn.pth is (for --mineclip attn)"""
    out: str = str(paths.PRIOR_DATASET)
    """the data.pkl to write (the released layout)"""
    stride: int = LABEL_STRIDE
    """steps between the clips considered for the pose/motion captions"""

    def __post_init__(self) -> None:
        check(self.stride >= 1, "stride must be >= 1")


def run(s: PriorDataSettings) -> int:
    from steve1.mineclip import MineClipEmbedder
    from steve1.mineclip.checkpoint import resolve_mineclip

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    dirs = find_episode_dirs(s.episodes)
    check_writable_dir(Path(s.out).parent, "--out")
    model, desc = resolve_mineclip(s.mineclip, s.mineclip_weights, device="cpu")
    embedder = MineClipEmbedder(model, device="cpu")
    summary = build_prior_pairs(dirs, embedder.embed_texts, s.out, stride=s.stride)
    summary["mineclip"] = desc
    atomic_write_text(Path(str(s.out) + ".labels.json"), json.dumps(summary, indent=1))
    report(json.dumps({"out": s.out, "episodes": len(dirs), "n_pairs": summary["n_pairs"],
                       "per_label": summary["per_label"]}))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(PriorDataSettings, run, argv, verb="prior-data")


if __name__ == "__main__":
    raise SystemExit(main())
