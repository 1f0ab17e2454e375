"""Episodes on disk, in the original STEVE-1 layout, so datasets move both ways.

One directory per episode:

    frames.mp4        128x128 mp4v video at 20 fps (written BGR, so OpenCV decode + BGR->RGB gives RGB back)
    actions.pkl       list of MineRL action dicts, one per frame (the action taken after seeing that frame)
    embeds_attn.pkl   list, one per frame: None for the first 15, then a (1, 512) MineCLIP video embedding
    metadata.json     source-specific dict (indent 4)
    len.txt           min(len(frames), len(actions), len(embeds)) as a decimal integer

Differences from the original `EpisodeStorage` (on purpose; the files are the same):
- An episode is written into a hidden `.partial-*` sibling directory and renamed into place only when every
  file is complete, so a reader never sees a half-written episode and an interrupted run leaves nothing
  that looks valid. Readers skip hidden entries.
- Opening validates: the five files exist, `len.txt` is an integer, and (with `deep=True`) the pickled lists
  and the video are at least `len` long. Errors name the episode directory.
- Pickles are opened with `steve1.utils.safe_pickle.safe_load` (builtins and numpy only).
- Paths may contain '.' (the original asserted they do not).
- Frames are written from memory in a stream (the original buffered all frames as BGR arrays first).
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from steve1.data.states import STATES_FILE, read_states
from steve1.utils.atomic import process_alive
from steve1.utils.safe_pickle import safe_load
from steve1.vpt.config import MINECLIP_DIM

FRAME_SIZE = 128  # policy frames are 128x128 RGB
VIDEO_FPS = 20.0
VIDEO_FOURCC = "mp4v"
EMBED_DIM = MINECLIP_DIM  # (1, 512) per embed
NUM_EMPTY_EMBEDS = 15  # embeds[t] summarises frames t-15..t, so the first 15 are None
MIN_EPISODE_FRAMES = 16  # original `is_valid`: at least 16 frames

FRAMES_FILE = "frames.mp4"
ACTIONS_FILE = "actions.pkl"
EMBEDS_FILE = "embeds_attn.pkl"
METADATA_FILE = "metadata.json"
LEN_FILE = "len.txt"
EPISODE_FILES = (FRAMES_FILE, ACTIONS_FILE, EMBEDS_FILE, METADATA_FILE, LEN_FILE)
PARTIAL_PREFIX = ".partial-"
OWNER_FILE = ".owner"  # inside a partial episode: {"host", "pid"} of the writer
PICKLE_PROTOCOL = 4  # readable by every Python the original ran on


class EpisodeError(ValueError):
    """An episode directory is missing files or its parts disagree; the message names the episode."""


def min_frames_for_training(T: int = 640, min_btwn_goals: int = 15) -> int:
    """The original training filter: max(min_btwn_goals + 15, T + 15) frames (655 for T = 640)."""
    return max(min_btwn_goals + NUM_EMPTY_EMBEDS, T + NUM_EMPTY_EMBEDS)


def _normalize_embed(e: Any) -> np.ndarray | None:
    # The original converts list-like entries to float32 (1, 512) on load; ndarrays are kept as stored.
    if e is None or isinstance(e, np.ndarray):
        return e
    return np.asarray(e, dtype=np.float32).reshape(1, -1)


class Episode:
    """A complete episode directory, opened read-only.

    `len(ep)` reads len.txt; `frames(start, end)` decodes a range as (n, 128, 128, 3) uint8 RGB;
    `actions()` / `embeds()` load (and cache) the pickles; `metadata` is the parsed metadata.json.
    """

    def __init__(self, path: str | os.PathLike, deep: bool = False):
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.is_dir():
            raise EpisodeError(f"episode {self.path}: not a directory")
        missing = [f for f in EPISODE_FILES if not (self.path / f).is_file()]
        if missing:
            raise EpisodeError(
                f"episode {self.path}: missing {', '.join(missing)}; it is incomplete or not an episode "
                f"directory (delete it and regenerate it)"
            )
        text = (self.path / LEN_FILE).read_text().strip()
        try:
            self._len = int(text)
        except ValueError:
            raise EpisodeError(f"episode {self.path}: len.txt holds {text!r}, not an integer") from None
        if self._len < 0:
            raise EpisodeError(f"episode {self.path}: len.txt holds a negative length {self._len}")
        self._actions: list | None = None
        self._embeds: list | None = None
        self._metadata: dict | None = None
        if deep:
            self.validate()

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"Episode({str(self.path)!r}, len={self._len})"

    # -- parts ---------------------------------------------------------------------------------------
    @property
    def metadata(self) -> dict:
        if self._metadata is None:
            try:
                self._metadata = json.loads((self.path / METADATA_FILE).read_text())
            except json.JSONDecodeError as e:
                raise EpisodeError(f"episode {self.path}: metadata.json is not valid JSON ({e})") from None
        return self._metadata

    def _load_list(self, fname: str) -> list:
        try:
            value = safe_load(self.path / fname)
        except pickle.UnpicklingError as e:
            raise EpisodeError(f"episode {self.path}: {e}") from None
        if not isinstance(value, list):
            raise EpisodeError(f"episode {self.path}: {fname} holds {type(value).__name__}, expected a list")
        if len(value) < self._len:
            raise EpisodeError(
                f"episode {self.path}: {fname} has {len(value)} entries but len.txt says {self._len}"
            )
        return value

    def actions(self) -> list[dict]:
        """One MineRL action dict per frame (as stored: ints/arrays, possibly with a leading batch dim)."""
        if self._actions is None:
            self._actions = self._load_list(ACTIONS_FILE)
        return self._actions

    def embeds(self) -> list[np.ndarray | None]:
        """One entry per frame: None for the first 15, then a (1, 512) MineCLIP embedding."""
        if self._embeds is None:
            self._embeds = [_normalize_embed(e) for e in self._load_list(EMBEDS_FILE)]
        return self._embeds

    def skills(self) -> list[str | None] | None:
        """The acting agent or skill of each step, from states.jsonl (episodes made by gen-mixed-agents);
        None when the episode has no states.jsonl."""
        if not (self.path / STATES_FILE).is_file():
            return None
        try:
            return [state.get("skill") for state in read_states(self.path, self._len)[: self._len]]
        except ValueError as e:  # StatesError: truncated or not JSON
            raise EpisodeError(f"episode {self.path}: {e}") from None

    def embeds_array(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """Embeddings of frames [start, end) as (n, 512) float32; NaN rows where the entry is None."""
        start, end = self._check_range(start, end)
        out = np.full((end - start, EMBED_DIM), np.nan, dtype=np.float32)  # (n, 512)
        for i, e in enumerate(self.embeds()[start:end]):
            if e is not None:
                out[i] = np.asarray(e, dtype=np.float32).reshape(-1)
        return out

    def _check_range(self, start: int, end: int | None) -> tuple[int, int]:
        end = self._len if end is None else end
        if not 0 <= start <= end <= self._len:
            raise IndexError(f"episode {self.path}: frame range [{start}, {end}) outside [0, {self._len})")
        return start, end

    def frames(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """Decode frames [start, end) as (n, 128, 128, 3) uint8 RGB (seeks, then decodes forward)."""
        start, end = self._check_range(start, end)
        n = end - start
        out = np.empty((n, FRAME_SIZE, FRAME_SIZE, 3), dtype=np.uint8)  # (n, 128, 128, 3)
        if n == 0:
            return out
        cap = cv2.VideoCapture(str(self.path / FRAMES_FILE))
        try:
            if not cap.isOpened():
                raise EpisodeError(f"episode {self.path}: frames.mp4 cannot be opened (corrupt video?)")
            if start > 0:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
                if int(cap.get(cv2.CAP_PROP_POS_FRAMES)) != start:  # seek failed: decode forward instead
                    cap.release()
                    cap = cv2.VideoCapture(str(self.path / FRAMES_FILE))
                    for i in range(start):
                        if not cap.grab():
                            raise EpisodeError(f"episode {self.path}: frames.mp4 ends at frame {i} < {start}")
            for i in range(n):
                ok, frame = cap.read()
                if not ok:
                    raise EpisodeError(
                        f"episode {self.path}: frames.mp4 ends at frame {start + i}, len.txt says {self._len}"
                    )
                if frame.shape != (FRAME_SIZE, FRAME_SIZE, 3):
                    raise EpisodeError(f"episode {self.path}: frames are {frame.shape}, expected 128x128x3")
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=out[i])
        finally:
            cap.release()
        return out

    def num_video_frames(self) -> int:
        """Frames actually decodable from frames.mp4 (decodes the whole video)."""
        cap = cv2.VideoCapture(str(self.path / FRAMES_FILE))
        try:
            if not cap.isOpened():
                raise EpisodeError(f"episode {self.path}: frames.mp4 cannot be opened (corrupt video?)")
            n = 0
            while cap.grab():
                n += 1
            return n
        finally:
            cap.release()

    def validate(self) -> None:
        """Check that actions, embeds and the video each hold at least len.txt entries."""
        self.actions()
        embeds = self.embeds()
        nv = self.num_video_frames()
        if nv < self._len:
            raise EpisodeError(f"episode {self.path}: frames.mp4 has {nv} frames, len.txt says {self._len}")
        for i, e in enumerate(embeds[: self._len]):
            if e is not None and np.asarray(e).size != EMBED_DIM:
                raise EpisodeError(f"episode {self.path}: embeds_attn[{i}] has shape {np.shape(e)}")
        self.metadata  # noqa: B018  (parses, raises on bad JSON)

    def check(self) -> None:
        """A cheap consistency check for a sampling (raises `EpisodeError`): the video opens, its header
        counts at least len.txt frames and its first and last frames decode; actions and embeds hold len.txt
        entries; every embed after the first 15 is present with 512 values. (`validate` decodes every frame.)
        """
        cap = cv2.VideoCapture(str(self.path / FRAMES_FILE))
        try:
            if not cap.isOpened():
                raise EpisodeError(f"episode {self.path}: frames.mp4 cannot be opened (corrupt video?)")
            header_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if header_frames < self._len:
                raise EpisodeError(
                    f"episode {self.path}: frames.mp4 holds {header_frames} frames, len.txt says {self._len}"
                )
        finally:
            cap.release()
        if self._len > 0:
            self.frames(0, 1)
            self.frames(self._len - 1, self._len)
        self.actions()
        for i, e in enumerate(self.embeds()[NUM_EMPTY_EMBEDS: self._len], start=NUM_EMPTY_EMBEDS):
            if e is None or np.asarray(e).size != EMBED_DIM:
                raise EpisodeError(
                    f"episode {self.path}: embeds_attn[{i}] is {'missing' if e is None else np.shape(e)}; "
                    f"expected a {EMBED_DIM}-value MineCLIP embedding"
                )

    def is_valid(self, for_training: bool = False, min_frames_training: int = 720) -> bool:
        """The original rule: at least 16 frames, and `min_frames_training` when `for_training`."""
        if self._len < MIN_EPISODE_FRAMES:
            return False
        return not (for_training and self._len < min_frames_training)

    @property
    def term_reason(self) -> str:
        """Termination reason parsed from the directory name (`..._term<Reason>`), 'Incomplete' if none."""
        if "term" not in self.name:
            return "Incomplete"
        return self.name.split("term")[1].split("_")[0]


# -- writing ---------------------------------------------------------------------------------------------


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[1:] != (FRAME_SIZE, FRAME_SIZE, 3) or frames.dtype != np.uint8:
        raise ValueError(
            f"episode frames must be (n, 128, 128, 3) or (128, 128, 3) uint8 RGB, got {frames.shape} "
            f"{frames.dtype}; resize with steve1.data.frames.resize_policy_frame first"
        )
    return frames


class EpisodeWriter:
    """Stream one episode into a hidden partial directory; `finish(name)` renames it into place.

    `key` identifies the episode for resuming (e.g. `contractor_8_x_17`): leftover partial directories of the
    same key (from a killed run) are deleted when a new writer for that key starts. Use as a context manager;
    leaving the block without `finish` (exception, Ctrl-C) deletes the partial directory.
    """

    def __init__(self, dataset_dir: str | os.PathLike, key: str | None = None):
        self.dataset_dir = Path(dataset_dir)
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        self.key = key or uuid.uuid4().hex
        if "/" in self.key or self.key.startswith("."):
            raise ValueError(f"episode key {self.key!r} must be a plain name")
        remove_partials(self.dataset_dir, self.key)
        self.tmp_dir = self.dataset_dir / f"{PARTIAL_PREFIX}{self.key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.tmp_dir.mkdir()
        (self.tmp_dir / OWNER_FILE).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
        self._video = cv2.VideoWriter(
            str(self.tmp_dir / FRAMES_FILE), cv2.VideoWriter_fourcc(*VIDEO_FOURCC), VIDEO_FPS,
            (FRAME_SIZE, FRAME_SIZE),
        )
        if not self._video.isOpened():
            self.abort()
            raise RuntimeError("OpenCV cannot write mp4v video here (opencv built without FFMPEG?)")
        self.num_frames = 0
        self.actions: list[dict] = []
        self.embeds: list[np.ndarray | None] = []
        self.path: Path | None = None

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, *exc) -> None:
        if self.path is None:
            self.abort()

    def add_frames(self, frames: np.ndarray) -> None:
        """Append (n, 128, 128, 3) or (128, 128, 3) uint8 RGB frames to the video."""
        for frame in _check_frames(frames):
            self._video.write(np.ascontiguousarray(frame[..., ::-1]))  # RGB -> BGR
            self.num_frames += 1

    def add_actions(self, actions: Iterable[dict]) -> None:
        self.actions.extend(actions)

    def add_embeds(self, embeds: Iterable[np.ndarray | None]) -> None:
        self.embeds.extend(embeds)

    def append(self, frame: np.ndarray, action: dict, embed: np.ndarray | None = None) -> None:
        """One step, as the original `EpisodeStorage.append`."""
        self.add_frames(frame)
        self.actions.append(action)
        self.embeds.append(embed)

    def __len__(self) -> int:
        return min(self.num_frames, len(self.actions), len(self.embeds))

    def finish(self, name: str, metadata: dict | None = None,
               extra_files: dict[str, str] | None = None) -> Path:
        """Write the pickles, metadata and len.txt (and `extra_files`, {file name: text}, e.g. states.jsonl),
        then rename the episode to `dataset_dir/name`: every file appears at once or none does."""
        if "/" in name or name.startswith("."):
            raise ValueError(f"episode name {name!r} must be a plain, non-hidden directory name")
        final = self.dataset_dir / name
        if final.exists():
            self.abort()
            raise FileExistsError(f"episode {final} already exists; refusing to overwrite it")
        self._video.release()
        n = len(self)
        with open(self.tmp_dir / ACTIONS_FILE, "wb") as f:
            pickle.dump(self.actions, f, protocol=PICKLE_PROTOCOL)
        with open(self.tmp_dir / EMBEDS_FILE, "wb") as f:
            pickle.dump(self.embeds, f, protocol=PICKLE_PROTOCOL)
        (self.tmp_dir / METADATA_FILE).write_text(json.dumps(metadata or {}, indent=4))
        (self.tmp_dir / LEN_FILE).write_text(str(n))
        extra = extra_files or {}
        for fname, text in extra.items():
            if "/" in fname or fname in EPISODE_FILES or fname.startswith("."):
                raise ValueError(f"extra episode file {fname!r}: a plain name, not one of {EPISODE_FILES}")
            (self.tmp_dir / fname).write_text(text)
        for fname in (*EPISODE_FILES, *extra):
            with open(self.tmp_dir / fname, "rb") as f:
                os.fsync(f.fileno())
        (self.tmp_dir / OWNER_FILE).unlink()
        os.rename(self.tmp_dir, final)
        self.path = final
        return final

    def abort(self) -> None:
        """Discard the partial episode."""
        try:
            self._video.release()
        except AttributeError:
            pass
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


def save_episode(
    dataset_dir: str | os.PathLike, name: str, frames: np.ndarray, actions: Sequence[dict],
    embeds: Sequence[np.ndarray | None], metadata: dict | None = None,
) -> Episode:
    """Write a whole episode at once (frames (n, 128, 128, 3) uint8 RGB) and return it opened."""
    with EpisodeWriter(dataset_dir, key=name) as w:
        w.add_frames(frames)
        w.add_actions(actions)
        w.add_embeds(embeds)
        return Episode(w.finish(name, metadata))


def remove_partials(dataset_dir: str | os.PathLike, key: str | None = None) -> int:
    """Delete leftover partial episodes (all of them, or those of one key); returns how many."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        return 0
    prefix = PARTIAL_PREFIX + (f"{key}-" if key else "")
    n = 0
    for p in dataset_dir.iterdir():
        if p.name.startswith(prefix) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


def remove_stale_partials(dataset_dir: str | os.PathLike) -> int:
    """Delete partial episodes whose writer (on this host) is no longer running; returns how many.

    Partials written from another host are left alone (their writer may still be running there).
    """
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        return 0
    host, n = socket.gethostname(), 0
    for p in dataset_dir.iterdir():
        if not (p.name.startswith(PARTIAL_PREFIX) and p.is_dir()):
            continue
        try:
            owner = json.loads((p / OWNER_FILE).read_text())
        except (OSError, ValueError):
            owner = {"host": host, "pid": -1}  # killed before the owner file was written
        if owner.get("host") == host and not process_alive(int(owner.get("pid", -1))):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


def list_episode_dirs(dataset_dir: str | os.PathLike) -> list[Path]:
    """Complete-looking episode directories (non-hidden, with len.txt), sorted by name."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise FileNotFoundError(f"dataset directory {dataset_dir} does not exist")
    return sorted(
        p for p in dataset_dir.iterdir()
        if not p.name.startswith(".") and p.is_dir() and (p / LEN_FILE).exists()
    )



def find_episode_dirs(spec: str) -> list[Path]:
    """The episode directories of comma-separated folders (`--episodes A,B`): a UsageError (one line) when a
    folder is missing or none holds an episode."""
    from steve1.cli_config import UsageError

    dirs: list[Path] = []
    for folder in (p.strip() for p in spec.split(",") if p.strip()):
        if not Path(folder).is_dir():
            raise UsageError(f"episodes folder {folder} not found")
        dirs += list_episode_dirs(folder)
    if not dirs:
        raise UsageError(f"no episodes under {spec}: generate some (steve1 gen-mixed-agents) first")
    return dirs

def find_episode(dataset_dir: str | os.PathLike, prefix: str, sep: str = "_") -> Path | None:
    """The complete episode whose name is `prefix` followed by `sep` (or nothing), if any."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        return None
    for p in dataset_dir.iterdir():
        if p.name == prefix or p.name.startswith(prefix + sep):
            if not p.name.startswith(".") and (p / LEN_FILE).exists():
                return p
    return None
