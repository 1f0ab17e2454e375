"""Behaviour of the VPT / STEVE-1 policy beyond the golden files: memory, first flags, guidance, batching,
sizes, training helpers and input errors."""
from __future__ import annotations

import pytest
import torch
from conftest import load_parity

from steve1.vpt.config import POLICY_SIZES, TINY_CONFIG
from steve1.vpt.policy import (
    VPTPolicy,
    action_log_prob,
    behaviour_cloning_loss,
    detach_state,
    state_dict_numel,
)
from steve1.vpt.sampling import gumbel_argmax, sample_actions
from steve1.vpt.small_batch_linear import SmallBatchLinear
from steve1.vpt.weights import load_policy_weights

ATOL = 1e-4
MAXLEN = TINY_CONFIG.maxlen  # 16


@pytest.fixture(scope="module")
def golden():
    return load_parity("steve1_policy_tiny.pt")


@pytest.fixture(scope="module")
def policy(golden):
    """The tiny goal-conditioned policy with the fixture's (non-trivial) random weights."""
    p = VPTPolicy(TINY_CONFIG, goal_dim=512)
    load_policy_weights(p, golden["state_dict"])
    return p.eval()


def _frames(n_worlds: int, n_steps: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n_worlds, n_steps, 128, 128, 3), dtype=torch.uint8, generator=g)


def _goals(n_worlds: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n_worlds, 512, generator=torch.Generator().manual_seed(seed))


def _assert_states_close(a, b):
    for (ma, (ka, va)), (mb, (kb, vb)) in zip(a, b, strict=True):
        assert torch.equal(ma, mb)
        torch.testing.assert_close(ka, kb, rtol=0, atol=ATOL)
        torch.testing.assert_close(va, vb, rtol=0, atol=ATOL)


@torch.no_grad()
def test_stepwise_equals_one_multistep_call(policy):
    T = MAXLEN + 4  # longer than the memory, so the cache wraps
    img, goal = _frames(2, T), _goals(2)[:, None].expand(2, T, 512)
    first = torch.zeros(2, T, dtype=torch.bool)
    first[:, 0] = True
    whole = policy(img, first, policy.initial_state(2), goal=goal)
    state = policy.initial_state(2)
    cams, btns = [], []
    for t in range(T):
        out = policy(img[:, t:t + 1], first[:, t:t + 1], state, goal=goal[:, t:t + 1])
        cams.append(out.logp_camera)
        btns.append(out.logp_buttons)
        state = out.state
    torch.testing.assert_close(torch.cat(cams, 1), whole.logp_camera, rtol=0, atol=ATOL)
    torch.testing.assert_close(torch.cat(btns, 1), whole.logp_buttons, rtol=0, atol=ATOL)
    _assert_states_close(state, whole.state)
    assert state[0][0].all()  # the memory is full of valid frames


@torch.no_grad()
def test_first_flag_resets_memory(policy):
    img, goal = _frames(2, 9), _goals(2)[:, None].expand(2, 9, 512)
    past = policy(img[:, :5], torch.zeros(2, 5, dtype=torch.bool), policy.initial_state(2), goal=goal[:, :5])
    first = torch.tensor([[True, False, False, False], [False, False, False, False]])
    cont = policy(img[:, 5:], first, past.state, goal=goal[:, 5:])
    fresh = policy(img[:, 5:], torch.zeros(2, 4, dtype=torch.bool), policy.initial_state(2), goal=goal[:, 5:])
    torch.testing.assert_close(cont.logp_buttons[0], fresh.logp_buttons[0], rtol=0, atol=1e-5)  # row 0: reset
    assert (cont.logp_buttons[1] - fresh.logp_buttons[1]).abs().max() > 1e-3  # row 1 still sees its past
    assert not cont.state[0][0][0, 0, :-4].any() and cont.state[0][0][0, 0, -4:].all()


@torch.no_grad()
def test_mid_call_first_ignored_by_default_and_honoured_on_request(policy):
    img, goal = _frames(2, 6), _goals(2)[:, None].expand(2, 6, 512)
    past = policy(img, torch.ones(2, 6, dtype=torch.bool), policy.initial_state(2), goal=goal)
    first = torch.zeros(2, 6, dtype=torch.bool)
    first[1, 3] = True
    none = policy(img, torch.zeros_like(first), past.state, goal=goal)
    faithful = policy(img, first, past.state, goal=goal)
    # the reference quirk: a flag after step 0 changes nothing
    torch.testing.assert_close(faithful.logp_buttons, none.logp_buttons, rtol=0, atol=0)
    honoured = policy(img, first, past.state, goal=goal, honour_every_first=True)
    a = policy(img[:, :3], first[:, :3], past.state, goal=goal[:, :3])  # same as two calls split at the flag
    b = policy(img[:, 3:], first[:, 3:], a.state, goal=goal[:, 3:])
    split = torch.cat([a.logp_buttons, b.logp_buttons], 1)
    torch.testing.assert_close(honoured.logp_buttons, split, rtol=0, atol=ATOL)
    _assert_states_close(honoured.state, b.state)
    assert (honoured.logp_buttons[1, 3:] - none.logp_buttons[1, 3:]).abs().max() > 1e-3


@torch.no_grad()
def test_guided_step_equals_separate_cond_and_uncond_streams(policy):
    B, s = 3, 6.0
    img, goal = _frames(B, 4), _goals(B)
    guided_state = policy.initial_state(2 * B)
    cond_state, uncond_state = policy.initial_state(B), policy.initial_state(B)
    no_first = torch.zeros(B, 1, dtype=torch.bool)
    for t in range(4):
        g = policy.guided_step(img[:, t], goal, guided_state, cond_scale=s)
        c = policy(img[:, t:t + 1], no_first, cond_state, goal=goal[:, None])
        u = policy(img[:, t:t + 1], no_first, uncond_state, goal=torch.zeros(B, 1, 512))
        torch.testing.assert_close(g.logp_buttons, (1 + s) * c.logp_buttons[:, 0] - s * u.logp_buttons[:, 0],
                                   rtol=0, atol=ATOL)
        torch.testing.assert_close(g.logp_camera, (1 + s) * c.logp_camera[:, 0] - s * u.logp_camera[:, 0],
                                   rtol=0, atol=ATOL)
        _assert_states_close([(m[:B], (k[:B], v[:B])) for m, (k, v) in g.state], c.state)
        _assert_states_close([(m[B:], (k[B:], v[B:])) for m, (k, v) in g.state], u.state)
        guided_state, cond_state, uncond_state = g.state, c.state, u.state
    # scale 0 is the plain conditional policy
    g0 = policy.guided_step(img[:, 0], goal, policy.initial_state(2 * B), cond_scale=0.0)
    c0 = policy(img[:, :1], no_first, policy.initial_state(B), goal=goal[:, None])
    torch.testing.assert_close(g0.logp_buttons, c0.logp_buttons[:, 0], rtol=0, atol=1e-5)


@torch.no_grad()
def test_batch_of_8_guided_equals_8_single_guided_runs(policy):
    B, steps = 8, 3
    img, goal = _frames(B, steps, seed=3), _goals(B, seed=4)
    batch_state = policy.initial_state(2 * B)
    single_states = [policy.initial_state(2) for _ in range(B)]
    for t in range(steps):
        batch = policy.guided_step(img[:, t], goal, batch_state, cond_scale=6.0)
        for w in range(B):
            one = policy.guided_step(img[w:w + 1, t], goal[w:w + 1], single_states[w], cond_scale=6.0)
            torch.testing.assert_close(batch.logp_buttons[w:w + 1], one.logp_buttons, rtol=0, atol=13 * ATOL)
            torch.testing.assert_close(batch.logp_camera[w:w + 1], one.logp_camera, rtol=0, atol=13 * ATOL)
            rows = [w, B + w]
            _assert_states_close([(m[rows], (k[rows], v[rows])) for m, (k, v) in batch.state], one.state)
            single_states[w] = one.state
        batch_state = batch.state


@pytest.mark.parametrize(
    "size, numel", [("1x", 70_998_654), ("2x", 248_495_294), ("3x", 532_504_318)]
)
def test_released_sizes_have_the_reference_keys_and_element_counts(size, numel):
    with torch.device("meta"):
        vpt = VPTPolicy(POLICY_SIZES[size])
        steve = VPTPolicy(POLICY_SIZES[size], goal_dim=512)
    assert len(vpt.state_dict()) == 134 and state_dict_numel(vpt) == numel
    hid = POLICY_SIZES[size].hidsize
    assert len(steve.state_dict()) == 136 and state_dict_numel(steve) == numel + 512 * hid + hid
    sd = vpt.state_dict()
    assert sd["net.recurrent_layer.blocks.3.r.orc_block.b_nd"].shape == (10, 128)
    assert sd["pi_head.buttons.linear_layer.weight"].shape == (8641, hid)
    assert sd["value_head.normalizer.debiasing_term"].shape == ()
    if size == "2x":
        assert sd["net.img_process.cnn.dense.layer.weight"].shape == (256, 65536)
        assert sd["net.recurrent_layer.blocks.0.r.orc_block.r_layer.weight"].shape == (160, 2048)
        assert state_dict_numel(steve) == 249_545_918


def test_training_helpers_give_gradients_and_detach(policy):
    p = VPTPolicy(TINY_CONFIG, goal_dim=512)
    p.load_state_dict(policy.state_dict())
    img = _frames(2, 3)
    first = torch.tensor([[True, False, False]] * 2)
    out = p(img, first, p.initial_state(2), goal=torch.randn(2, 3, 512))
    camera = torch.tensor([[60, 0, 120], [5, 60, 60]])
    buttons = torch.tensor([[0, 8640, 17], [1, 2, 3]])
    lp = action_log_prob(out, camera, buttons)
    assert lp.shape == (2, 3)
    torch.testing.assert_close(lp[1, 2], out.logp_camera[1, 2, 60] + out.logp_buttons[1, 2, 3])
    loss = behaviour_cloning_loss(out, camera, buttons)
    torch.testing.assert_close(loss, -lp.sum(1).mean())
    loss.backward()
    assert p.net.mineclip_embed_linear.weight.grad.abs().sum() > 0
    assert p.net.img_process.cnn.stacks[0].firstconv.layer.weight.grad.abs().sum() > 0
    assert out.state[0][1][0].requires_grad and not detach_state(out.state)[0][1][0].requires_grad
    with pytest.raises(ValueError, match="camera targets must lie in"):
        action_log_prob(out, camera + 121, buttons)
    with pytest.raises(ValueError, match="buttons targets have shape"):
        action_log_prob(out, camera, buttons[:, :2])


def test_sampling_noise_one_is_clamped_and_argmax_is_deterministic():
    logp = torch.log_softmax(torch.tensor([[0.0, 1.0, 2.0]]), -1)
    u = torch.tensor([[1.0, 0.5, 0.5]])  # -log(-log 1.0) would be +inf; the reference clamps to 0.999
    assert gumbel_argmax(logp, u).item() == 0
    acts = sample_actions(logp.expand(2, 3), torch.log_softmax(torch.randn(2, 8641), -1), deterministic=True)
    assert acts.camera.tolist() == [2, 2] and acts.log_prob.shape == (2,)
    with pytest.raises(ValueError, match="noise u has shape"):
        gumbel_argmax(logp, torch.rand(1, 4))


def test_bad_inputs_get_clear_errors(policy):
    state = policy.initial_state(1)
    first = torch.zeros(1, 1, dtype=torch.bool)
    img = _frames(1, 1)
    with pytest.raises(ValueError, match=r"img has shape \(1, 1, 64, 64, 3\).*resize_pov"):
        policy(img[:, :, :64, :64], first, state)
    with pytest.raises(TypeError, match="img has dtype torch.float32"):
        policy(img.float(), first, state)
    with pytest.raises(ValueError, match=r"goal has shape \(1, 1, 256\); expected \(1, 1, 512\)"):
        policy(img, first, state, goal=torch.zeros(1, 1, 256))
    with pytest.raises(ValueError, match=r"first has shape"):
        policy(img, torch.zeros(1, 2, dtype=torch.bool), state)
    with pytest.raises(ValueError, match="2B rows for guided_step"):
        policy.guided_step(img[:, 0], torch.zeros(1, 512), state, cond_scale=6.0)
    with pytest.raises(ValueError, match=r"goal has shape \(2, 512\)"):
        policy.guided_step(img[:, 0], torch.zeros(2, 512), policy.initial_state(2), cond_scale=6.0)
    with pytest.raises(ValueError, match="no goal layer"):
        VPTPolicy(TINY_CONFIG)(img, first, state, goal=torch.zeros(1, 1, 512))
    with pytest.raises(ValueError, match="list of 2 per-layer entries"):
        policy(img, first, state[:1])


@torch.no_grad()
def test_bf16_policy_runs_and_stays_close_to_fp32(policy):
    half = VPTPolicy(TINY_CONFIG, goal_dim=512)
    half.load_state_dict(policy.state_dict())
    half = half.to(torch.bfloat16)
    img, goal = _frames(2, 3), _goals(2)[:, None].expand(2, 3, 512)
    first = torch.zeros(2, 3, dtype=torch.bool)
    state16 = half.initial_state(2)
    assert state16[0][1][0].dtype == torch.bfloat16
    a = policy(img, first, policy.initial_state(2), goal=goal)
    b = half(img, first, state16, goal=goal)
    assert b.logp_buttons.dtype == torch.float32
    # bf16 keeps ~3 significant digits: the action distributions stay close in total variation (~0.02 seen)
    assert (a.logp_buttons.exp() - b.logp_buttons.exp()).abs().sum(-1).max() < 0.1
    assert (a.logp_camera.exp() - b.logp_camera.exp()).abs().sum(-1).max() < 0.1
    g = half.guided_step(img[:, 0], goal[:, 0], half.initial_state(4), cond_scale=6.0)
    assert torch.isfinite(g.logp_buttons).all() and g.state[0][1][0].dtype == torch.bfloat16


@pytest.mark.parametrize("rows", [1, 2, 3, 8, 9])
@pytest.mark.parametrize("bias", [True, False])
def test_small_batch_linear_equals_linear(rows, bias):
    layer = SmallBatchLinear(96, 600, bias=bias)  # 600 outputs: two full weight blocks and a partial one
    x = torch.randn(rows, 1, 96)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))
    y = layer(x)  # with autograd it is the plain F.linear path and gradients flow
    y.sum().backward()
    assert layer.weight.grad is not None and y.shape == (rows, 1, 600)
