"""VPT contractor index files and how workers split them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from steve1.data.download import download_file

INDEX_URLS = {
    "6.x": "https://openaipublic.blob.core.windows.net/minecraft-rl/snapshots/all_6xx_Jun_29.json",
    "7.x": "https://openaipublic.blob.core.windows.net/minecraft-rl/snapshots/all_7xx_Apr_6.json",
    "8.x": "https://openaipublic.blob.core.windows.net/minecraft-rl/snapshots/all_8xx_Jun_29.json",
    "9.x": "https://openaipublic.blob.core.windows.net/minecraft-rl/snapshots/all_9xx_Jun_29.json",
    "10.x": "https://openaipublic.blob.core.windows.net/minecraft-rl/snapshots/all_10xx_Jun_29.json",
}
PAPER_VERSIONS = ("8.x", "9.x", "10.x")  # the versions STEVE-1 converts


@dataclass
class ContractorIndex:
    version: str
    basedir: str
    relpaths: list[str]

    def __len__(self) -> int:
        return len(self.relpaths)

    def _url(self, idx: int, ext: str) -> str:
        # As the original: basedir minus its last character, '/', relpath with '.mp4' removed, extension.
        return f"{self.basedir[:-1]}/{self.relpaths[idx].replace('.mp4', '')}{ext}"

    def video_url(self, idx: int) -> str:
        return self._url(idx, ".mp4")

    def action_url(self, idx: int) -> str:
        return self._url(idx, ".jsonl")


def parse_index(data: dict, version: str) -> ContractorIndex:
    if not isinstance(data, dict) or "basedir" not in data or "relpaths" not in data:
        raise ValueError(
            f"contractor index for {version} must be a JSON object with 'basedir' and 'relpaths'"
        )
    return ContractorIndex(version, str(data["basedir"]), [str(p) for p in data["relpaths"]])


def load_index(version: str, cache_dir: str | Path, index_url: str | None = None) -> ContractorIndex:
    """Download (once, cached as `<cache_dir>/index_<version>.json`) and parse a version's index file."""
    if index_url is None:
        if version not in INDEX_URLS:
            raise ValueError(f"unknown contractor version {version!r}; choose one of {list(INDEX_URLS)}")
        index_url = INDEX_URLS[version]
    path = download_file(index_url, Path(cache_dir) / f"index_{version}.json")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        path.unlink()
        raise ValueError(
            f"contractor index {index_url} is not valid JSON ({e}); deleted the cached copy"
        ) from None
    return parse_index(data, version)


def select_indices(
    total: int, worker_id: int = 0, num_episodes: int | None = 200, num_workers: int | None = None,
    start: int = 0,
) -> list[int]:
    """Episode indices this worker converts.

    Without `num_workers` (the original's scheme): the block [worker_id * num_episodes, + num_episodes).
    With `num_workers`: every `num_workers`-th index starting at `start + worker_id`, at most `num_episodes`
    of them (`num_episodes=None`: no limit), so N machines with ids 0..N-1 split one index without overlap.
    """
    if worker_id < 0:
        raise ValueError(f"worker_id must be >= 0, got {worker_id}")
    if num_workers is None:
        if num_episodes is None:
            raise ValueError("--num-episodes none (all) needs --num-workers (use 1 for a single machine)")
        lo = worker_id * num_episodes
        return list(range(min(lo, total), min(lo + num_episodes, total)))
    if not 0 <= worker_id < num_workers:
        raise ValueError(f"worker_id must be in [0, num_workers={num_workers}), got {worker_id}")
    picked = list(range(start + worker_id, total, num_workers))
    return picked if num_episodes is None else picked[:num_episodes]
