"""Prompt chaining: a schedule of (prompt, start step) pairs and the prompt active at each step.

The paper chains short-horizon prompts for two long-horizon tasks, building a tower and making wooden planks.
The exact prompt texts and switch steps of those chains are not in the original code or our references, so
`PAPER_CHAINS` is our definition (texts taken from the task descriptions; switch step a parameter): treat
the switch steps in particular as a choice, not the paper's value.

Chains of your own come from a YAML or JSON file (`load_chain_file`, `--chain-file` of `steve1 evaluate` and
the steerability benchmark): a mapping of chain name -> list of [prompt, start step] pairs (or
{prompt: ..., start: ...} mappings), the first starting at step 0:

    dirt_then_tower: [["dig dirt", 0], ["build a tower", 300]]
    wood_then_explore:
      - {prompt: chop a tree, start: 0}
      - {prompt: go explore, start: 400}

Every mistake in the file is one error line naming the file and the chain.
"""
from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_SWITCH_STEP = 1500  # our choice: half of the paper's 3,000-step episodes


@dataclass(frozen=True)
class PromptSchedule:
    """Prompts with the step each one starts at; the first starts at step 0, starts strictly increase."""

    prompts: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, int]]) -> PromptSchedule:
        if not pairs:
            raise ValueError("a prompt schedule needs at least one (prompt, start_step) pair")
        prompts, starts = [], []
        for i, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(f"schedule entry {i} must be (prompt, start_step), got {pair!r}")
            prompt, start = pair
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError(f"schedule entry {i} has an empty or non-text prompt {prompt!r}")
            if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or start < 0:
                raise ValueError(f"schedule entry {i} ({prompt!r}) needs a step >= 0, got {start!r}")
            if starts and start <= starts[-1]:
                raise ValueError(f"schedule start steps must strictly increase; entry {i} ({prompt!r}) "
                                 f"starts at {start} after {starts[-1]}")
            prompts.append(prompt)
            starts.append(int(start))
        if starts[0] != 0:
            raise ValueError(f"the first prompt must start at step 0, got {starts[0]}")
        return cls(tuple(prompts), tuple(starts))

    def index_at(self, step: int) -> int:
        """Index of the prompt active at `step` (>= 0)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        return bisect.bisect_right(self.starts, step) - 1

    def prompt_at(self, step: int) -> str:
        return self.prompts[self.index_at(step)]

    def indices(self, n_steps: int) -> np.ndarray:
        """(n_steps,) index of the active prompt at every step 0..n_steps-1."""
        return np.searchsorted(np.asarray(self.starts), np.arange(n_steps), side="right") - 1

    def per_step(self, n_steps: int) -> list[str]:
        """The active prompt at every step (the interactive session's per-frame prompt list)."""
        return [self.prompts[i] for i in self.indices(n_steps)]

    def switches(self, n_steps: int) -> list[int]:
        """Steps in [1, n_steps) where the prompt changes (the goal embedding must be swapped)."""
        return [s for s in self.starts[1:] if s < n_steps]


def paper_chain(name: str, switch_step: int = DEFAULT_SWITCH_STEP) -> PromptSchedule:
    """One of `PAPER_CHAIN_PROMPTS` as a schedule switching at `switch_step`."""
    if name not in PAPER_CHAIN_PROMPTS:
        raise KeyError(f"unknown chain {name!r}; known chains: {sorted(PAPER_CHAIN_PROMPTS)}")
    first, second = PAPER_CHAIN_PROMPTS[name]
    return PromptSchedule.from_pairs([(first, 0), (second, switch_step)])


# Our definitions of the paper's two chains (see the module docstring): gather the material, then use it.
PAPER_CHAIN_PROMPTS: dict[str, tuple[str, str]] = {
    "build_tower": ("dig as far as possible", "build a tower"),
    "wooden_planks": ("break wood", "craft wooden planks"),
}


CHAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # a chain's name becomes part of file names


class ChainFileError(ValueError):
    """A chain file that cannot be used (the message is one line naming the file and the chain)."""


def _entry_pair(entry) -> tuple:
    """[prompt, start] or {prompt, start} -> (prompt, start); anything else is returned for the checks."""
    if isinstance(entry, dict):
        if set(entry) != {"prompt", "start"}:
            raise ValueError(f"entry {entry!r} needs exactly the keys prompt and start")
        return entry["prompt"], entry["start"]
    if isinstance(entry, (list, tuple)):
        return tuple(entry)
    raise ValueError(f"entry {entry!r} must be [prompt, start_step] or {{prompt: ..., start: ...}}")


def parse_chains(data, source: str = "chains") -> dict[str, PromptSchedule]:
    """Chain name -> schedule from parsed YAML/JSON (see the module docstring)."""
    if not isinstance(data, dict) or not data:
        raise ChainFileError(f"{source}: expected a mapping of chain name -> list of [prompt, start step] "
                             f"pairs, got {type(data).__name__ if data else 'nothing'}")
    chains = {}
    for name, entries in data.items():
        if not isinstance(name, str) or not CHAIN_NAME.fullmatch(name):
            raise ChainFileError(f"{source}: chain name {name!r} must be 1-64 letters, digits, '_', '.' or "
                                 f"'-' (starting with a letter or digit)")
        if name in PAPER_CHAIN_PROMPTS:
            raise ChainFileError(f"{source}: chain {name!r} is a built-in chain's name; choose another")
        if not isinstance(entries, list):
            raise ChainFileError(f"{source}: chain {name!r} must be a list of [prompt, start step] pairs")
        try:
            chains[name] = PromptSchedule.from_pairs([_entry_pair(e) for e in entries])
        except ValueError as err:
            raise ChainFileError(f"{source}: chain {name!r}: {err}") from None
    return chains


def load_chain_file(path: str | Path) -> dict[str, PromptSchedule]:
    """Chain name -> schedule from a YAML (.yaml/.yml) or JSON (.json) file."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ChainFileError(f"chain file {path}: cannot be read ({type(err).__name__})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        where = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ChainFileError(f"chain file {path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} "
                             f"({where})") from None
    return parse_chains(data, f"chain file {path}")
