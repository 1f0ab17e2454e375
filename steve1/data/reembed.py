"""Recompute existing episodes' MineCLIP embeddings with another MineCLIP, in place (`steve1 embed`).

Episodes are generated once and can then serve several encoders: for each episode its frames.mp4 is
embedded (`MineClipEmbedder.embed_episode_dir`: entry t from frames t-15..t, the first 15 None) and
`embeds_attn.pkl` replaced atomically (written under a temporary name, then renamed). Which MineCLIP made an
episode's embeddings is recorded beside them in `embeds_mineclip.json` ({"mineclip", "model_id"}), written
after the embeddings: a rerun skips the episodes already embedded with the same model (same sha256 of its
file) and redoes those embedded with another one, so an interrupted run continues where it stopped.

Note: the stored frames are 128x128 (lossy mp4), so the numbers differ from embeddings made from the raw
observations while an episode was generated.
"""
from __future__ import annotations

import json
import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from steve1 import paths
from steve1.cli_config import UsageError, check, report, run_verb, settings_field
from steve1.cluster.runtime import LOCAL, use_ray
from steve1.data.episode import EMBEDS_FILE, PICKLE_PROTOCOL, Episode, find_episode_dirs
from steve1.utils.atomic import atomic_write_bytes, atomic_write_text

RECORD_FILE = "embeds_mineclip.json"

log = logging.getLogger(__name__)


@dataclass
class EmbedSettings:
    """Recompute the per-step MineCLIP embeddings of existing episodes in place (resumable)."""

    episodes: str = str(paths.MIXED_AGENTS_DATASET_DIR)
    """folder(s) of episode directories, comma-separated"""
    mineclip: str = "attn"
    """MineCLIP: attn (the released file), minetest (the shipped one), tiny/reduced (random weights) or a
    checkpoint path of ours"""
    mineclip_weights: str = str(paths.MINECLIP_WEIGHTS)
    """where the released attn.pth is (for --mineclip attn)"""
    device: str = "auto"
    """auto (cuda when available), cpu or cuda"""
    batch_size: int = 32
    """frames per image-tower call"""
    force: bool = False
    """re-embed episodes already embedded with this MineCLIP"""
    ray: str | None = settings_field(default=None, nargs="?", const=LOCAL)
    """each episode a Ray task: --ray (a local Ray) or --ray ADDRESS (a cluster); default: STEVE1_RAY"""

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "batch_size must be >= 1")


def model_id(spec: str, released_weights: str | Path) -> str:
    """What identifies a MineCLIP: sha256 of its file, or the seeded random config's name."""
    from steve1.mineclip.checkpoint import is_config_name, mineclip_file
    from steve1.utils.checksum import file_digest

    if spec == "attn":
        return "sha256:" + file_digest(released_weights, "sha256")
    if is_config_name(spec):
        return f"random:{spec}:seed0"
    return "sha256:" + file_digest(mineclip_file(spec), "sha256")  # 'minetest': the shipped file


def read_record(episode_dir: str | Path) -> dict | None:
    path = Path(episode_dir) / RECORD_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def reembed_episode(embedder, episode_dir: Path, record: dict) -> int:
    """Replace one episode's embeddings (atomic), then record which model made them. Returns frames."""
    ep = Episode(episode_dir)
    old = ep.embeds()
    new = embedder.embed_episode_dir(episode_dir)
    if len(new) < len(ep):
        raise UsageError(f"{episode_dir}: frames.mp4 decodes to {len(new)} frames, len.txt says {len(ep)}")
    new = new[: max(len(old), len(ep))]
    atomic_write_bytes(episode_dir / EMBEDS_FILE, pickle.dumps(new, protocol=PICKLE_PROTOCOL))
    atomic_write_text(episode_dir / RECORD_FILE, json.dumps({**record, "frames": len(new)}, indent=1))
    return len(new)


def reembed(s: EmbedSettings) -> dict:
    import torch

    from steve1.mineclip import MineClipEmbedder
    from steve1.mineclip.checkpoint import resolve_mineclip

    dirs = find_episode_dirs(s.episodes)
    device = s.device if s.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    mid = model_id(s.mineclip, s.mineclip_weights)
    todo = [d for d in dirs if s.force or (read_record(d) or {}).get("model_id") != mid]
    other = sum(1 for d in todo if read_record(d) is not None)
    log.info("%d episodes: %d already embedded with %s, %d to do (%d embedded with another MineCLIP)",
             len(dirs), len(dirs) - len(todo), mid, len(todo), other)
    frames = 0
    if todo and use_ray(s.ray):  # each episode a Ray task (steve1.cluster)
        from steve1.cluster.embed import embed_on_ray

        frames = embed_on_ray(s, todo, device, mid)
    elif todo:
        model, desc = resolve_mineclip(s.mineclip, s.mineclip_weights, device="cpu")
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        embedder = MineClipEmbedder(model, device=device, dtype=dtype, batch_size=s.batch_size)
        record = {"mineclip": desc, "model_id": mid}
        for d in tqdm(todo, desc="embed", unit="episode"):
            frames += reembed_episode(embedder, d, record)
    return {"episodes": len(dirs), "embedded": len(todo), "skipped": len(dirs) - len(todo), "frames": frames,
            "model_id": mid}


def run(s: EmbedSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    report(json.dumps(reembed(s)))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_verb(EmbedSettings, run, argv, verb="embed")


if __name__ == "__main__":
    raise SystemExit(main())
