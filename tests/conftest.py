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


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray of 2 CPUs for the tests of steve1.cluster (started on first use)."""
    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[dev]" installs it)')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
