"""Shared pytest fixtures: deterministic CPU torch, the parity golden files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
PARITY = FIXTURES / "parity"

torch.set_num_threads(2)


def load_parity(name: str) -> dict:
    """A golden file of the original code on random weights (see tests/fixtures/parity/README.md)."""
    return torch.load(PARITY / name, weights_only=True)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
