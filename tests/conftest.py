"""Shared pytest fixtures: deterministic CPU torch, the parity golden files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
PARITY = FIXTURES / "parity"

TORCH_THREADS = 2  # bitwise-equality tests compare runs made with the same CPU reduction order
torch.set_num_threads(TORCH_THREADS)


def load_parity(name: str) -> dict:
    """A golden file of the original code on random weights (see tests/fixtures/parity/README.md)."""
    return torch.load(PARITY / name, weights_only=True)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _torch_threads():
    """Verbs run in-process (gen-mixed-agents --threads 1, ...) set torch's thread count for the whole
    process: put it back after every test."""
    yield
    torch.set_num_threads(TORCH_THREADS)


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs for one test module of steve1.cluster. Ray replaces `builtins.print` while it
    runs; it is put back afterwards, so later tests see the real one."""
    import builtins

    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[dev]" installs it)')
    real_print = builtins.print
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    builtins.print = real_print
