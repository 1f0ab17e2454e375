"""Does a prompt steer the agent? The prompted agent's target quantity against the unprompted agent's.

A prompt counts as *steered* when, over its episodes, the prompted agent's mean target quantity is at least
`STEER_RATIO` (2) times the unprompted agent's mean AND the prompted agent's 95 % confidence interval lies
entirely above the unprompted one's (lower end of one > upper end of the other; `mean_ci95`, Student t).
The ratio is prompted mean / unprompted mean; when the unprompted mean is 0 it is inf for a positive
prompted mean and 1 when both are 0 (no difference), so a median over prompts stays defined.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from steve1.eval.results import mean_ci95

STEER_RATIO = 2.0


@dataclass(frozen=True)
class Interval:
    mean: float
    ci95: float  # half-width
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval:
        mean, ci = mean_ci95(values)
        return cls(mean, ci, len(values))

    @property
    def low(self) -> float:
        return self.mean - self.ci95

    @property
    def high(self) -> float:
        return self.mean + self.ci95

    def __str__(self) -> str:
        return f"{self.mean:.2f} ± {self.ci95:.2f}"


def ratio(prompted_mean: float, unprompted_mean: float) -> float:
    """prompted / unprompted mean (inf when only the unprompted mean is 0, 1 when both are)."""
    if unprompted_mean == 0:
        return 1.0 if prompted_mean == 0 else math.inf
    return prompted_mean / unprompted_mean


def is_steered(prompted: Interval, unprompted: Interval, min_ratio: float = STEER_RATIO) -> bool:
    """The rule of the module docstring (target quantities are >= 0)."""
    return prompted.mean >= min_ratio * unprompted.mean and prompted.low > unprompted.high


@dataclass(frozen=True)
class Comparison:
    """One prompt's target quantity: prompted, unprompted and other-prompt agents."""

    prompted: Interval
    unprompted: Interval
    others: Interval | None  # the agents prompted with the other prompts (None when there are none)

    @property
    def ratio(self) -> float:
        return ratio(self.prompted.mean, self.unprompted.mean)

    @property
    def steered(self) -> bool:
        return is_steered(self.prompted, self.unprompted)


def compare(prompted: Sequence[float], unprompted: Sequence[float],
            others: Sequence[float] = ()) -> Comparison:
    if not len(prompted) or not len(unprompted):
        raise ValueError("a comparison needs at least one prompted and one unprompted episode")
    return Comparison(Interval.of(prompted), Interval.of(unprompted),
                      Interval.of(others) if len(others) else None)


def summary_line(comparisons: Sequence[Comparison], prefix: str = "") -> str:
    """`prompts=<k> steered=<j> median_ratio=<r>` (keys prefixed with `prefix`)."""
    ratios = [c.ratio for c in comparisons]
    median = float(np.median(ratios)) if ratios else float("nan")
    steered = sum(c.steered for c in comparisons)
    return f"{prefix}prompts={len(comparisons)} {prefix}steered={steered} {prefix}median_ratio={median:.2f}"
