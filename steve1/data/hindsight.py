"""Packed hindsight relabeling: the STEVE-1 training dataset.

Each item is one sequence of `T` consecutive steps of one episode. Goals are chosen over the *whole*
episode: switch points advance by a uniform gap in `[min_btwn_goals, max_btwn_goals - 1]`, the last goal is
always the episode's last step, and every step is conditioned on the MineCLIP embedding at its segment's goal
step. With probability `p_uncond` the whole sequence gets the zero goal (classifier-free guidance dropout).

The pure functions (`goal_steps`, `goal_index_per_step`, `sequence_windows`, `skill_segment_starts`,
`skill_start_weights`) are the algorithm; the `HindsightDataset` only loads episodes and slices.

Two options for scripted-skill episodes (states.jsonl records which skill acted at each step), both off by
default and not in the original:
- `skill_segment_goals`: goals are drawn within each skill's segment (the same rule, restarted at every skill
  switch), so no step is conditioned on a goal that shows the *next* skill while it still does the old one.
  Without it, the steps before a switch teach "goal of skill B, history of skill A: keep doing A", which
  outnumbers the few steps after the switch where the goal is what makes the agent start B.
- `skill_start_steps` / `skill_start_weight`: the loss weight of each skill's first steps (after a switch, at
  the episode's start and after a bump or spin), where the goal decides what the agent does; every other step
  weighs 1. Items carry it as `weight` (T,) float32.

Differences from the original (documented on purpose):
- Randomness comes from a NumPy generator seeded by `(seed, epoch, item index)`, not the global NumPy RNG, so
  an item is the same whatever worker loads it and a resumed run sees exactly the same data.
- `one_step_past_goal=True` (default) keeps the original's off-by-one (the step right after the goal frame is
  still conditioned on the just-reached goal; see DIFFERENCES.md); `False` switches to the next goal there.
- Episodes too short for one sequence are skipped and counted (`skipped_episodes`) instead of asserting.
- An episode that cannot be read (corrupt video, broken pickles, parts that disagree) does not stop training:
  an item whose window fails to load is replaced by the next window of another episode, and the item says
  which episodes failed (`bad_episodes`), so the trainer logs, counts and checkpoints them. The replacement
  depends only on what is on disk and on the episodes known to be bad when the epoch began
  (`set_known_bad`), so a resumed run reads exactly the same data.
"""
from __future__ import annotations

import collections
import logging
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from steve1.data.episode import EMBED_DIM, NUM_EMPTY_EMBEDS, EpisodeError
from steve1.data.sampling import load_sampling  # noqa: F401  (re-exported: the trainer reads samplings here)
from steve1.data.states import INTERRUPTION_NAMES

N_STEPS_WITHOUT_EMBED = NUM_EMPTY_EMBEDS  # MineCLIP embeds cover 16 frames: the first 15 steps have none
MAX_BAD_EPISODES_PER_ITEM = 8  # unreadable episodes in a row one item may step over before giving up
NO_EPISODE = -1  # padding of an item's `bad_episodes`
# What reading a damaged episode raises (EpisodeError is a ValueError: stack_embeds' errors are caught too).
EPISODE_READ_ERRORS = (EpisodeError, ValueError, OSError, EOFError, IndexError, pickle.UnpicklingError)

log = logging.getLogger(__name__)


class EpisodeLike(Protocol):
    """What the dataset reads from an episode (`steve1.data.episode.Episode` or an in-memory stand-in)."""

    def __len__(self) -> int: ...

    def frames(self, start: int, end: int) -> np.ndarray: ...  # (end-start, 128, 128, 3) uint8 RGB

    def actions(self) -> list[dict]: ...

    def embeds(self) -> list: ...  # L entries: None for the first 15, then (1, 512) float

    # Optional: `skills()` -> L names of the acting skill (or None), for the skill_* options.


# --------------------------------------------------------------------------------------------------------
# The relabeling algorithm (pure functions)


def goal_steps(rng: np.random.Generator, length: int, min_btwn_goals: int, max_btwn_goals: int) -> np.ndarray:
    """Goal (switch) steps over a whole episode of `length` steps, as the original draws them.

    Starting from c = 0, c advances by a gap uniform in [min, max-1]; when fewer than `min` steps would remain
    after c, the goal is moved to the last step `length-1`, which is always the final goal.
    Returns a strictly increasing int64 array whose first entry is >= `min_btwn_goals`.
    """
    _check_gaps(min_btwn_goals, max_btwn_goals)
    if length < 2:
        raise ValueError(f"episode length must be >= 2 to place a goal, got {length}")
    n_draws = (length - 1) // min_btwn_goals + 1  # enough gaps to pass the end
    cumulative = np.cumsum(rng.integers(min_btwn_goals, max_btwn_goals, size=n_draws, dtype=np.int64))
    # A goal c is kept as drawn while at least `min` steps remain after it (length - c >= min).
    n_kept = int(np.searchsorted(cumulative, length - min_btwn_goals, side="right"))
    return np.append(cumulative[:n_kept], np.int64(length - 1))


def goal_index_per_step(goals: np.ndarray, length: int, one_step_past_goal: bool = True) -> np.ndarray:
    """For each step t in [0, length), the goal step whose embedding conditions it. (length,) int64.

    Segment k covers steps up to `goals[k]` (or `goals[k] + 1` with the original's off-by-one quirk).
    """
    t = np.arange(length, dtype=np.int64)
    shift = 1 if one_step_past_goal else 0
    k = np.searchsorted(goals, t - shift, side="left")
    return goals[np.minimum(k, len(goals) - 1)]


def skill_segment_starts(skills: Sequence[str | None]) -> np.ndarray:
    """First step of every skill segment: 0, and each step whose skill differs from the step before, where
    interruptions (INTERRUPTION_NAMES) count as the skill they interrupt. (n,) int64, increasing."""
    filled: list[str | None] = []
    for name in skills:
        filled.append(filled[-1] if name in INTERRUPTION_NAMES and filled else name)
    starts = [t for t in range(1, len(filled)) if filled[t] != filled[t - 1]]
    return np.asarray([0, *starts], dtype=np.int64)


def segment_goal_steps(rng: np.random.Generator, segment_starts: np.ndarray, length: int,
                       min_btwn_goals: int, max_btwn_goals: int) -> np.ndarray:
    """`goal_steps` drawn afresh inside every segment [starts[k], starts[k+1]), so each segment ends on a goal
    and no goal lies past the segment of the steps it conditions. Increasing int64, last entry length-1."""
    bounds = [*(int(a) for a in segment_starts if 0 <= a < length), length]
    goals = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        goals.append(goal_steps(rng, b - a, min_btwn_goals, max_btwn_goals) + a if b - a >= 2
                     else np.asarray([a], dtype=np.int64))
    return np.unique(np.concatenate(goals))


def skill_start_weights(skills: Sequence[str | None], n_steps: int, weight: float) -> np.ndarray:
    """(L,) float32 loss weights: `weight` for the first n_steps steps of every run of one skill (at the
    episode's start, after a switch, after an interruption), 1 elsewhere (interruptions, unnamed steps)."""
    out = np.ones(len(skills), dtype=np.float32)
    for t, name in enumerate(skills):
        if name is None or name in INTERRUPTION_NAMES or (t > 0 and skills[t - 1] == name):
            continue
        for u in range(t, min(t + n_steps, len(skills))):
            if skills[u] != name:
                break
            out[u] = weight
    return out


def sequence_windows(length: int, seq_len: int, skip: int = N_STEPS_WITHOUT_EMBED) -> np.ndarray:
    """`[start, end)` windows of one episode: starts skip, skip+T, ...; the last one is pulled back to end at
    `length` (it may overlap the previous one). (n, 2) int64; empty if the episode is too short."""
    if length < seq_len + skip:
        return np.zeros((0, 2), dtype=np.int64)
    starts = np.arange(skip, length, seq_len, dtype=np.int64)
    starts = np.minimum(starts, length - seq_len)
    return np.stack([starts, starts + seq_len], axis=1)


def min_episode_length(seq_len: int, min_btwn_goals: int) -> int:
    """Shortest episode used for training (the original's `max(min_btwn_goals + 15, T + 15)`)."""
    return max(min_btwn_goals, seq_len) + N_STEPS_WITHOUT_EMBED


def _check_gaps(min_btwn_goals: int, max_btwn_goals: int) -> None:
    if min_btwn_goals < N_STEPS_WITHOUT_EMBED:
        raise ValueError(
            f"min_btwn_goals={min_btwn_goals} must be >= {N_STEPS_WITHOUT_EMBED}: the first "
            f"{N_STEPS_WITHOUT_EMBED} steps of an episode have no MineCLIP embedding"
        )
    if min_btwn_goals >= max_btwn_goals:
        raise ValueError(f"min_btwn_goals={min_btwn_goals} must be < max_btwn_goals={max_btwn_goals}")


# --------------------------------------------------------------------------------------------------------
# The dataset


@dataclass(frozen=True)
class HindsightConfig:
    seq_len: int = 640  # T
    min_btwn_goals: int = 15
    max_btwn_goals: int = 200  # exclusive: gaps are in [15, 199]
    p_uncond: float = 0.1
    one_step_past_goal: bool = True
    every_nth: int = 1  # keep every n-th window (validation)
    limit: int | None = None  # keep only the first n episodes
    skill_segment_goals: bool = False  # goals never cross a skill switch (episodes with recorded skills)
    skill_start_steps: int = 0  # the first steps of each skill segment ...
    skill_start_weight: float = 1.0  # ... weigh this much in the loss

    @property
    def weights_skill_starts(self) -> bool:
        return self.skill_start_steps > 0 and self.skill_start_weight != 1.0

    @property
    def uses_skills(self) -> bool:
        return self.skill_segment_goals or self.weights_skill_starts


def stack_embeds(embeds: Sequence, length: int) -> np.ndarray:
    """Episode embeds (None for the first steps, else (1, 512)) -> (length, 512) float32, zeros where None."""
    if len(embeds) < length:
        raise ValueError(f"episode has {len(embeds)} embeds but length {length}; the episode is inconsistent")
    present = [t for t in range(length) if embeds[t] is not None]
    out = np.zeros((length, EMBED_DIM), dtype=np.float32)
    if present:
        values = np.stack([np.asarray(embeds[t], dtype=np.float32).reshape(-1) for t in present])
        if values.shape[1] != EMBED_DIM:
            raise ValueError(f"episode embeds have {values.shape[1]} values per step; expected {EMBED_DIM}")
        out[present] = values
    return out


ActionEncoder = Callable[[list[dict]], tuple[np.ndarray, np.ndarray]]


def default_action_encoder(actions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """MineRL env action dicts -> (buttons (N,) int64 in 0..8640, camera (N,) int64 in 0..120)."""
    from steve1.vpt.actions import env_to_agent

    buttons, camera = env_to_agent(actions)
    return np.asarray(buttons, dtype=np.int64).reshape(-1), np.asarray(camera, dtype=np.int64).reshape(-1)


def _open_episode(path: str | Path) -> EpisodeLike:
    from steve1.data.episode import Episode

    return Episode(path)


class HindsightDataset(torch.utils.data.Dataset):
    """Sequences of `seq_len` steps with packed hindsight goals. Item `i` is a dict:

    img (T, 128, 128, 3) uint8, goal (T, 512) float32, buttons (T,) int64, camera (T,) int64, first (T,) bool.
    Call `set_epoch(e)` so every epoch draws new goals (the sampler does it).
    """

    def __init__(
        self,
        episodes: Sequence[EpisodeLike | str | Path],
        config: HindsightConfig,
        seed: int = 0,
        action_encoder: ActionEncoder | None = None,
        cache_size: int = 8,
    ):
        _check_gaps(config.min_btwn_goals, config.max_btwn_goals)
        if not 0.0 <= config.p_uncond <= 1.0:
            raise ValueError(f"p_uncond must be in [0, 1], got {config.p_uncond}")
        if config.every_nth < 1:
            raise ValueError(f"every_nth must be >= 1, got {config.every_nth}")
        if config.skill_start_steps < 0 or config.skill_start_weight < 0:
            raise ValueError(f"skill_start_steps ({config.skill_start_steps}) and skill_start_weight "
                             f"({config.skill_start_weight}) must be >= 0")
        self.config = config
        self.seed = int(seed)
        self.epoch = 0
        self.action_encoder = action_encoder or default_action_encoder
        episodes = list(episodes)[: config.limit] if config.limit is not None else list(episodes)
        self._episodes = episodes
        self._cache: collections.OrderedDict[int, tuple] = collections.OrderedDict()
        self._cache_size = cache_size

        min_len = min_episode_length(config.seq_len, config.min_btwn_goals)
        windows, lengths = [], []
        self.skipped_episodes = 0
        self.unreadable_episodes: list[int] = []  # could not even be opened (e.g. len.txt gone)
        self.known_bad: frozenset[int] = frozenset()
        for i in range(len(episodes)):
            try:
                n = len(self._episode(i))
            except EPISODE_READ_ERRORS as e:
                log.warning("skipping unreadable episode %s: %s", self.episode_name(i), e)
                self.unreadable_episodes.append(i)
                n = 0
            lengths.append(n)
            if n < min_len:
                self.skipped_episodes += 1
                continue
            w = sequence_windows(n, config.seq_len)
            windows.append(np.concatenate([np.full((len(w), 1), i, dtype=np.int64), w], axis=1))
        all_windows = np.concatenate(windows) if windows else np.zeros((0, 3), dtype=np.int64)
        self.windows = all_windows[:: config.every_nth]  # (N, 3): episode index, start, end
        self.episode_lengths = np.asarray(lengths, dtype=np.int64)

    def _episode(self, i: int) -> EpisodeLike:
        """Episode i. Paths are opened afresh on every call and not kept: an open `Episode` caches its whole
        actions and embeds lists, which over thousands of episodes would fill every worker's memory."""
        ep = self._episodes[i]
        return _open_episode(ep) if isinstance(ep, (str, Path)) else ep

    def episode_name(self, i: int) -> str:
        """Episode i's path (or repr of an in-memory one), for messages."""
        ep = self._episodes[i]
        return str(ep) if isinstance(ep, (str, Path)) else repr(ep)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_known_bad(self, episode_indices) -> None:
        """Episodes found unreadable before this epoch: their windows are replaced without being read."""
        self.known_bad = frozenset(int(i) for i in episode_indices)

    def __len__(self) -> int:
        return len(self.windows)

    def _episode_skills(self, ep: EpisodeLike, length: int) -> list[str | None]:
        """The acting skill of each step (None everywhere for episodes that do not record it)."""
        skills = getattr(ep, "skills", None)
        names = skills() if skills is not None else None
        if names is None:
            return [None] * length
        if len(names) < length:
            raise ValueError(f"episode has {len(names)} recorded skills but length {length}")
        return list(names[:length])

    def _episode_arrays(self, i: int) -> tuple:
        """(embeds (L, 512) float32, buttons (L,), camera (L,), segment starts (n,) int64, loss weights (L,)
        float32) of episode i, cached per worker."""
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        ep = self._episode(i)
        length = len(ep)
        embeds = stack_embeds(ep.embeds(), length)
        actions = ep.actions()
        if len(actions) < length:
            raise ValueError(f"episode {i} has {len(actions)} actions but length {length}")
        buttons, camera = self.action_encoder(list(actions[:length]))
        cfg = self.config
        skills = self._episode_skills(ep, length) if cfg.uses_skills else None
        starts = skill_segment_starts(skills) if cfg.skill_segment_goals else np.zeros(1, dtype=np.int64)
        weights = skill_start_weights(skills, cfg.skill_start_steps, cfg.skill_start_weight) \
            if cfg.weights_skill_starts else np.ones(length, dtype=np.float32)
        arrays = (embeds, buttons, camera, starts, weights)
        self._cache[i] = arrays
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return arrays

    def item_rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """Window `index`, or, if its episode cannot be read, the next window (in order, wrapping) of an
        episode not yet failed. Adds `bad_episodes` (MAX_BAD_EPISODES_PER_ITEM,) int64: the episodes whose
        reading failed for this item, padded with -1; and `replaced` () bool: this is not window `index`."""
        failed: list[int] = []
        last_error: Exception | None = None
        n = len(self.windows)
        for step in range(n):
            candidate = (index + step) % n
            ep_index = int(self.windows[candidate, 0])
            if ep_index in self.known_bad or ep_index in failed:
                continue
            try:
                item = self._window_item(candidate)
            except EPISODE_READ_ERRORS as e:
                log.warning("unreadable episode %s (skipped): %s", self.episode_name(ep_index), e)
                failed.append(ep_index)
                last_error = e
                if len(failed) == MAX_BAD_EPISODES_PER_ITEM:
                    raise EpisodeError(
                        f"{len(failed)} episodes in a row cannot be read (last: "
                        f"{self.episode_name(ep_index)}: {e}); the dataset looks badly damaged: check it, "
                        f"then recreate the sampling"
                    ) from e
                continue
            bad = np.full(MAX_BAD_EPISODES_PER_ITEM, NO_EPISODE, dtype=np.int64)
            bad[: len(failed)] = failed
            item["bad_episodes"] = torch.from_numpy(bad)
            item["replaced"] = torch.tensor(step > 0)
            return item
        raise EpisodeError(f"no episode of this dataset can be read ({len(self.known_bad) + len(failed)} "
                           f"failed, last: {last_error}); check the data, then recreate the sampling")

    def _window_item(self, index: int) -> dict[str, torch.Tensor]:
        ep_index, start, end = (int(x) for x in self.windows[index])
        cfg = self.config
        embeds, buttons, camera, segment_starts, weights = self._episode_arrays(ep_index)
        length = len(embeds)
        rng = self.item_rng(index)
        if cfg.skill_segment_goals:
            goals = segment_goal_steps(rng, segment_starts, length, cfg.min_btwn_goals, cfg.max_btwn_goals)
        else:
            goals = goal_steps(rng, length, cfg.min_btwn_goals, cfg.max_btwn_goals)
        goal_of_step = goal_index_per_step(goals, length, cfg.one_step_past_goal)[start:end]  # (T,)
        if rng.random() < cfg.p_uncond:
            goal = np.zeros((end - start, EMBED_DIM), dtype=np.float32)
        else:
            goal = embeds[goal_of_step]  # (T, 512)
        img = np.asarray(self._episode(ep_index).frames(start, end))
        if img.shape != (end - start, 128, 128, 3) or img.dtype != np.uint8:
            raise ValueError(
                f"episode {ep_index} frames({start}, {end}) gave {img.shape} {img.dtype}; "
                f"expected ({end - start}, 128, 128, 3) uint8"
            )
        first = np.zeros(end - start, dtype=bool)
        first[0] = True
        return {
            "img": torch.from_numpy(np.ascontiguousarray(img)),
            "goal": torch.from_numpy(np.ascontiguousarray(goal)),
            "buttons": torch.from_numpy(buttons[start:end].copy()),
            "camera": torch.from_numpy(camera[start:end].copy()),
            "first": torch.from_numpy(first),
            "weight": torch.from_numpy(weights[start:end].copy()),
        }
