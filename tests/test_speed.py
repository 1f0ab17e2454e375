"""The speed work's logic: the FLOP counter, the frozen value head (DDP without unused-parameter search),
the compiled guided step, and the training-throughput benchmark's output line (run tiny on CPU)."""
from __future__ import annotations

import math
import re

import pytest
import torch
from torch import nn

from steve1.training.loss import chunk_loss
from steve1.training.optim import build_optimizer
from steve1.training.trainer import freeze_unused_heads
from steve1.vpt.compiled import compiled_guided_step
from steve1.vpt.config import N_REL_BASIS, POLICY_SIZES, TINY_CONFIG
from steve1.vpt.flops import peak_flops, policy_forward_flops_per_frame, train_flops_per_frame
from steve1.vpt.policy import VPTPolicy

GOAL_DIM = 512


def _inputs(B: int, T: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (B, T, 128, 128, 3), dtype=torch.uint8, generator=g)
    goal = torch.randn(B, T, GOAL_DIM, generator=g)
    first = torch.zeros(B, T, dtype=torch.bool)
    first[:, 0] = True
    return img, first, goal


@torch.no_grad()
def test_flop_counter_matches_the_layers_a_forward_pass_runs():
    """Conv/linear FLOPs from hooks on the modules a real forward pass calls (output size x fan-in), plus the
    attention products, equal the analytic count."""
    cfg = TINY_CONFIG
    policy = VPTPolicy(cfg, goal_dim=GOAL_DIM).eval()
    counted = [0]

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        else:
            fan_in = module.in_features
        counted[0] += 2 * output.numel() * fan_in

    for m in policy.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    B, t = 2, 4
    img, first, goal = _inputs(B, t)
    policy(img, first, policy.initial_state(B), goal)
    frames = B * t
    keys = cfg.maxlen + t  # the chunk path multiplies every query with all maxlen + t keys
    E, H = cfg.hidsize, cfg.attention_heads
    attention = cfg.n_recurrence_layers * (2 * 2 * keys * E + 2 * H * N_REL_BASIS * cfg.maxlen)
    assert counted[0] / frames + attention == policy_forward_flops_per_frame(cfg, GOAL_DIM, keys)
    assert train_flops_per_frame(cfg, GOAL_DIM, t) == 3 * policy_forward_flops_per_frame(cfg, GOAL_DIM, keys)


def test_flop_counter_2x_is_dominated_by_the_cnn():
    from steve1.vpt.flops import cnn_flops_per_frame

    cfg = POLICY_SIZES["2x"]
    total = policy_forward_flops_per_frame(cfg, GOAL_DIM, cfg.maxlen)
    assert 14e9 < cnn_flops_per_frame(cfg) < 15e9 and 0.9 < cnn_flops_per_frame(cfg) / total < 1.0


def test_peak_flops_table():
    assert peak_flops("NVIDIA H200") == 989e12
    assert peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("NVIDIA L4") == 121e12
    assert peak_flops("Tesla K80") is None


def test_frozen_value_head_leaves_no_trainable_parameter_without_gradient():
    """The condition for DDP's find_unused_parameters=False: after one training loss backward, every
    parameter that requires grad has one; state-dict keys and optimizer slots are unchanged."""
    policy = VPTPolicy(TINY_CONFIG, goal_dim=GOAL_DIM)
    keys = list(policy.state_dict())
    n_slots = sum(len(g["params"]) for g in build_optimizer(policy, 1e-3, 0.1).param_groups)
    freeze_unused_heads(policy)
    assert list(policy.state_dict()) == keys
    assert sum(len(g["params"]) for g in build_optimizer(policy, 1e-3, 0.1).param_groups) < n_slots
    B, t = 2, 4
    img, first, goal = _inputs(B, t)
    out = policy(img, first, policy.initial_state(B), goal)
    g = torch.Generator().manual_seed(1)
    buttons = torch.randint(0, 8641, (B, t), generator=g)
    camera = torch.randint(0, 121, (B, t), generator=g)
    chunk_loss(out.logp_buttons, out.logp_camera, buttons, camera).backward()
    missing = [n for n, p in policy.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    frozen = sorted(n for n, p in policy.named_parameters() if not p.requires_grad)
    assert frozen == ["value_head.linear.bias", "value_head.linear.weight"]


@torch.no_grad()
def test_compiled_guided_step_equals_eager():
    """Traced by dynamo (backend "eager": inductor's CPU compile takes minutes); three steps, the state of
    each feeding the next, as the agent does."""
    torch._dynamo.reset()
    policy = VPTPolicy(TINY_CONFIG, goal_dim=GOAL_DIM).eval()
    step = compiled_guided_step(policy, "reduce-overhead", backend="eager")
    img, first, goal = _inputs(2, 3)
    s_eager, s_comp = policy.initial_state(4), policy.initial_state(4)
    for t in range(3):
        a = policy.guided_step(img[:, t], goal[:, t], s_eager, 6.0)
        b = step(img[:, t], goal[:, t], s_comp, 6.0)
        torch.testing.assert_close(b.logp_buttons, a.logp_buttons, rtol=0, atol=1e-5)
        torch.testing.assert_close(b.logp_camera, a.logp_camera, rtol=0, atol=1e-5)
        for (ma, (ka, va)), (mb, (kb, vb)) in zip(a.state, b.state, strict=True):
            assert torch.equal(ma, mb)
            torch.testing.assert_close(kb, ka, rtol=0, atol=1e-5)
            torch.testing.assert_close(vb, va, rtol=0, atol=1e-5)
        s_eager, s_comp = a.state, b.state
    with pytest.raises(ValueError, match="unknown compile mode"):
        compiled_guided_step(policy, "fastest")


def test_train_throughput_benchmark_tiny_cpu(capsys):
    from benchmarks.train_throughput import main

    main(["--config", "tiny", "--device", "cpu", "--episodes", "2", "--length", "120", "--steps", "2",
          "--batches", "1", "--workers", "0"])
    lines = capsys.readouterr().out.strip().splitlines()
    m = re.fullmatch(r"train_frames_per_s=(\S+) mfu=(\S+) loader_frames_per_s=(\S+)", lines[-1])
    assert m, lines[-1]
    train, mfu, loader = (float(x) for x in m.groups())
    assert train > 0 and loader > 0 and math.isnan(mfu)
    assert "GFLOP per training frame" in lines[-2] and "mfu=nan" in lines[-2]


def test_train_throughput_config_names_a_policy_size():
    from benchmarks.train_throughput import resolve_config

    cfg = resolve_config("2x")
    assert cfg.policy == "2x" and cfg.T == 640 and cfg.mixed_precision == "bf16"
    assert resolve_config("tiny", batch_size=3).batch_size == 3


@pytest.mark.parametrize("rows", [4, 16, 32, 33])  # 33: past MAX_WEIGHT_MAJOR_ROWS, plain F.linear
@pytest.mark.parametrize("n_in", [96, 8192])
def test_weight_major_linear_equals_linear(rows, n_in):
    from steve1.vpt.small_batch_linear import SmallBatchLinear

    layer = SmallBatchLinear(n_in, 300)
    x = torch.randn(rows, n_in)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))


@torch.no_grad()
def test_single_step_attention_under_cpu_bf16_autocast_stays_close_to_fp32():
    """The single-step attention's logits product runs with autocast off (float32); the step under bf16
    autocast stays within bf16 rounding of the fp32 step."""
    from steve1.vpt.transformer import MemoryAttention

    attn = MemoryAttention(hidsize=64, heads=4, maxlen=8)
    g = torch.Generator().manual_seed(5)
    h = torch.randn(6, 1, 64, generator=g)
    episode = torch.zeros(6, 1, dtype=torch.long)
    mask = torch.rand(6, 1, 8, generator=g) > 0.3
    state = (mask, (torch.randn(6, 8, 64, generator=g), torch.randn(6, 8, 64, generator=g)))
    ref, _ = attn._single_step(h, episode, state)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = attn._single_step(h, episode, state)
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.05)


def test_goal_use_benchmark_tells_a_goal_blind_policy_from_one_that_reads_its_goal(capsys):
    from benchmarks.goal_use import main, sequence_losses
    from steve1.data.hindsight import HindsightConfig, HindsightDataset
    from steve1.data.hindsight_synthetic import InMemoryEpisode, encoded_actions
    from steve1.training.policy_io import build_policy

    data = HindsightDataset([InMemoryEpisode(80, seed=s) for s in range(3)],
                            HindsightConfig(seq_len=32, min_btwn_goals=15, max_btwn_goals=30, p_uncond=0.0),
                            action_encoder=encoded_actions)
    items = [data[i] for i in range(3)]
    batch = {k: torch.stack([it[k] for it in items]) for k in ("img", "first", "goal", "buttons", "camera")}
    torch.manual_seed(0)
    model = build_policy("tiny", None).eval()
    reads = sequence_losses(model, batch, trunc_t=16)
    assert all(math.isfinite(v) for v in reads.values())
    assert abs(reads["true"] - reads["shuffled"]) > 1e-4 and abs(reads["true"] - reads["zero"]) > 1e-4
    with torch.no_grad():  # a goal layer that passes nothing: the three losses are the same
        model.net.mineclip_embed_linear.weight.zero_()
        model.net.mineclip_embed_linear.bias.zero_()
    blind = sequence_losses(model, batch, trunc_t=16)
    assert blind["true"] == blind["zero"] == blind["shuffled"]
    with pytest.raises(SystemExit):
        main(["--policy", "tiny"])  # neither --weights nor --random-weights
    assert "--weights" in capsys.readouterr().err
