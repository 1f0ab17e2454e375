"""Which world seeds a generation run used, so that evaluation is on seeds never trained on.

`gen-mixed-agents` gives episode k of a run the world seed `episode_seed(run_seed, k)`, a bijection of the
index onto [0, MAX_SEED) (an odd multiplier, an offset, a xorshift). `training_episode_index` inverts it:
a seed was used by a run of N episodes exactly when its index is below N.
"""
from __future__ import annotations

import random
from collections.abc import Iterable

from steve1.data.gen_mixed_agents import MAX_SEED, SEED_BITS

# the run seeds of the gen-mixed-agents runs behind our Minetest models' data (generate configs minetest: 1;
# minetest_bumps: 2; minetest_starts: 3)
TRAINING_RUN_SEEDS = (1, 2, 3)
TRAINING_EPISODES = 100_000  # episodes of each run whose world seeds are refused (far more than generated)


class TrainingSeedError(ValueError):
    """World seeds chosen for evaluation that the training data was generated on."""


def training_episode_index(world_seed: int, run_seed: int) -> int:
    """The episode index k whose world seed in run `run_seed` is `world_seed`."""
    key = random.Random(f"world-seeds:{run_seed}")  # as gen_mixed_agents.episode_seed draws them
    mult, offset = key.getrandbits(SEED_BITS) | 1, key.getrandbits(SEED_BITS)
    x = int(world_seed) % MAX_SEED
    x ^= x >> 13  # undoes x ^ (x >> 13) for 25-bit x (x >> 26 is 0)
    return ((x - offset) * pow(mult, -1, MAX_SEED)) % MAX_SEED


def check_held_out(seeds: Iterable[int], run_seeds: Iterable[int] = TRAINING_RUN_SEEDS,
                   n_episodes: int = TRAINING_EPISODES) -> None:
    """Raise TrainingSeedError for world seeds that episodes 0..n_episodes-1 of any run in `run_seeds`
    used."""
    seeds = [int(s) for s in seeds]
    for run_seed in run_seeds:
        used = sorted({s for s in seeds
                       if 0 <= s < MAX_SEED and training_episode_index(s, run_seed) < n_episodes})
        if used:
            raise TrainingSeedError(f"world seeds {used[:10]} are seeds of the training data (run seed "
                                    f"{run_seed}, its first {n_episodes} episodes); evaluate on seeds never "
                                    f"trained on")


def parse_run_seeds(text: str) -> tuple[int, ...]:
    """'1,2' -> (1, 2)."""
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValueError(f"--training-run-seeds must be comma-separated integers (e.g. 1,2), got "
                         f"{text!r}") from None
