"""The GPU path of the speed options (skipped, with the reason shown, where no CUDA device exists):
the guided step as a CUDA graph (torch.compile reduce-overhead) equals the eager step over several steps,
the agent runs under bf16 autocast + compile, and the training benchmark reports a finite MFU."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from steve1.agent import Steve1Agent
from steve1.vpt.compiled import compiled_guided_step
from steve1.vpt.config import TINY_CONFIG
from steve1.vpt.policy import VPTPolicy

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
GOAL_DIM = 512
DEVICE = torch.device("cuda")


@torch.no_grad()
def test_cuda_graph_guided_step_equals_eager():
    torch._dynamo.reset()
    torch.manual_seed(0)
    policy = VPTPolicy(TINY_CONFIG, goal_dim=GOAL_DIM).to(DEVICE).eval()
    step = compiled_guided_step(policy, "reduce-overhead")
    g = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (5, 2, 128, 128, 3), dtype=torch.uint8, generator=g).to(DEVICE)
    goal = torch.randn(2, GOAL_DIM, generator=g).to(DEVICE)
    s_eager, s_graph = policy.initial_state(4), policy.initial_state(4)
    kept = []
    for t in range(5):
        a = policy.guided_step(img[t], goal, s_eager, 6.0)
        b = step(img[t], goal, s_graph, 6.0)
        torch.testing.assert_close(b.logp_buttons, a.logp_buttons, rtol=0, atol=1e-4)
        kept.append((a.logp_camera, b.logp_camera))
        s_eager, s_graph = a.state, b.state
    for a_cam, b_cam in kept:  # outputs kept from earlier steps were not overwritten by later replays
        torch.testing.assert_close(b_cam, a_cam, rtol=0, atol=1e-4)


def test_agent_bf16_autocast_and_compile():
    torch._dynamo.reset()
    policy = VPTPolicy(TINY_CONFIG, goal_dim=GOAL_DIM).to(DEVICE)
    agent = Steve1Agent(policy, n_worlds=2, generator=torch.Generator().manual_seed(0),
                        autocast_dtype=torch.bfloat16, compile_mode="reduce-overhead")
    rng = np.random.default_rng(0)
    goal = rng.normal(size=(1, GOAL_DIM)).astype(np.float32)
    for _ in range(3):
        actions = agent.act(rng.integers(0, 256, (2, 360, 640, 3), dtype=np.uint8), goal)
        assert len(actions) == 2 and all("camera" in a for a in actions)


def test_train_throughput_cuda_reports_mfu(capsys):
    from benchmarks.train_throughput import main

    main(["--config", "tiny", "--device", "cuda", "--episodes", "2", "--length", "120", "--steps", "4",
          "--batches", "1", "--workers", "0"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.fullmatch(r"train_frames_per_s=(\S+) mfu=(\S+) loader_frames_per_s=(\S+)", last)
    assert m, last
    name = torch.cuda.get_device_name()
    from steve1.vpt.flops import peak_flops

    mfu = float(m.group(2))
    assert math.isnan(mfu) == (peak_flops(name) is None) and (math.isnan(mfu) or 0 < mfu < 1)
