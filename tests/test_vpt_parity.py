"""Numerical parity with the original VPT / STEVE-1 code (golden files in tests/fixtures/parity/)."""
from __future__ import annotations

import pytest
import torch
from conftest import load_parity

from steve1.vpt.config import TINY_CONFIG, config_from_kwargs
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.sampling import sample_actions
from steve1.vpt.weights import load_policy_weights

LOGP_ATOL = 1e-4  # README tolerances (fp32 CPU)
FEAT_RTOL, FEAT_ATOL = 1e-5, 1e-5
KV_ATOL = 1e-4
CFG_ATOL = 13 * LOGP_ATOL  # (1+s)*cond - s*uncond amplifies errors by (1 + 2s) = 13 for s = 6


@pytest.fixture(scope="module")
def vpt():
    return load_parity("vpt_policy_tiny.pt")


@pytest.fixture(scope="module")
def steve():
    return load_parity("steve1_policy_tiny.pt")


def _policy(golden, goal_dim=None):
    config = golden["config"]
    cfg = config_from_kwargs(config["policy_kwargs"], config["pi_head_kwargs"]["temperature"])
    assert cfg == TINY_CONFIG and cfg.maxlen == golden["config"]["maxlen"]
    policy = VPTPolicy(cfg, goal_dim=goal_dim)
    assert load_policy_weights(policy, golden["state_dict"]) == []
    return policy


def _assert_state(state, ref):
    assert len(state) == len(ref)
    for (mask, (k, v)), (rmask, (rk, rv)) in zip(state, ref, strict=True):
        assert mask.dtype == torch.bool and torch.equal(mask, rmask)
        torch.testing.assert_close(k, rk, rtol=0, atol=KV_ATOL)
        torch.testing.assert_close(v, rv, rtol=0, atol=KV_ATOL)


def _assert_call(policy, out, ref):
    torch.testing.assert_close(out.logp_camera, ref["pd_camera"][:, :, 0], rtol=0, atol=LOGP_ATOL)
    torch.testing.assert_close(out.logp_buttons, ref["pd_buttons"][:, :, 0], rtol=0, atol=LOGP_ATOL)
    torch.testing.assert_close(out.vpred, ref["vpred"][..., 0], rtol=FEAT_RTOL, atol=FEAT_ATOL)
    denorm = policy.value_head.denormalize(out.vpred)
    torch.testing.assert_close(denorm, ref["vpred_denorm"][..., 0], rtol=FEAT_RTOL, atol=FEAT_ATOL)
    _assert_state(out.state, ref["state_out"])


def test_vpt_chained_calls_match_reference(vpt):
    """A (+ intermediates), B (first at t=0 in one row), C (mid-call first ignored), D (T > maxlen), E."""
    policy = _policy(vpt)
    captured = {}
    names = ["net.img_process.cnn", "net.img_process", "net.lastlayer", "net.final_ln"]
    names += [f"net.recurrent_layer.blocks.{i}" for i in range(TINY_CONFIG.n_recurrence_layers)]
    modules = dict(policy.named_modules())

    def hook(name):
        def record(module, inputs, output):  # returns None: the output is not replaced
            captured[name] = output[0] if isinstance(output, tuple) else output
        return record

    hooks = [modules[n].register_forward_hook(hook(n)) for n in names]
    state = vpt["inputs"]["initial_state"]
    with torch.no_grad():
        for call in "ABCDE":
            inp, ref = vpt["inputs"][call], vpt["outputs"][call]
            out = policy(inp["img"].contiguous(), inp["first"], state)
            _assert_call(policy, out, ref)
            if call == "A":
                for h in hooks:
                    h.remove()
                for name, want in ref["intermediates"].items():
                    got = captured[name].reshape(want.shape)
                    torch.testing.assert_close(got, want, rtol=FEAT_RTOL, atol=FEAT_ATOL, msg=name)
            state = out.state
    assert vpt["outputs"]["C"]["identical_to_all_false_first"]


def test_vpt_stepwise_and_act_match_reference(vpt):
    """Call S: one frame at a time, plus act(): argmax actions and Gumbel sampling with the stored noise."""
    policy = _policy(vpt)
    img, first = vpt["inputs"]["A"]["img"].contiguous(), vpt["inputs"]["A"]["first"]
    state = vpt["inputs"]["initial_state"]
    with torch.no_grad():
        for t, ref in enumerate(vpt["outputs"]["S"]):
            out = policy(img[:, t:t + 1], first[:, t:t + 1], state)
            _assert_call(policy, out, ref)
            lc, lb = out.logp_camera[:, 0], out.logp_buttons[:, 0]
            det = ref["act_deterministic"]
            acts = sample_actions(lc, lb, deterministic=True)
            assert torch.equal(acts.camera, det["action"]["camera"][:, 0])
            assert torch.equal(acts.buttons, det["action"]["buttons"][:, 0])
            torch.testing.assert_close(acts.log_prob, det["log_prob"], rtol=0, atol=LOGP_ATOL)
            vpred = policy.value_head.denormalize(out.vpred)
            torch.testing.assert_close(vpred, det["vpred"], rtol=0, atol=LOGP_ATOL)
            if "act_stochastic" in ref:
                sto = ref["act_stochastic"]
                u = sto["u"]
                acts = sample_actions(lc, lb, u_camera=u["camera"][:, 0, 0], u_buttons=u["buttons"][:, 0, 0])
                assert torch.equal(acts.camera, sto["action"]["camera"][:, 0])
                assert torch.equal(acts.buttons, sto["action"]["buttons"][:, 0])
                torch.testing.assert_close(acts.log_prob, sto["log_prob"], rtol=0, atol=LOGP_ATOL)
                # Without injected noise, the same seed draws the same noise as the reference's rand_like.
                torch.manual_seed(sto["seed"])
                acts = sample_actions(lc, lb)
                assert torch.equal(acts.camera, sto["action"]["camera"][:, 0])
                assert torch.equal(acts.buttons, sto["action"]["buttons"][:, 0])
            state = out.state
    assert t == 5


def test_steve1_goal_forward_matches_reference(steve):
    policy = _policy(steve, goal_dim=512)
    assert len(policy.state_dict()) == len(steve["state_dict"]) == 104
    inp = steve["inputs"]
    with torch.no_grad():
        cond = policy(inp["img"].contiguous(), inp["first"], inp["initial_state"], goal=inp["mineclip_embed"])
        zero = policy(inp["img"].contiguous(), inp["first"], inp["initial_state"],
                      goal=torch.zeros_like(inp["mineclip_embed"]))
        none = policy(inp["img"].contiguous(), inp["first"], inp["initial_state"], goal=None)
    _assert_call(policy, cond, steve["outputs"]["cond"])
    _assert_call(policy, zero, steve["outputs"]["zero_goal"])
    _assert_call(policy, none, steve["outputs"]["zero_goal"])


def test_steve1_classifier_free_guidance_matches_reference(steve):
    """Four act(..., cond_scale=6) steps: raw and combined log-probs, actions, log-probs, values, state."""
    policy = _policy(steve, goal_dim=512)
    cfg = steve["inputs"]["cfg"]
    state = cfg["initial_state"]
    frames, goal, s = cfg["img"].contiguous(), cfg["goal_embed"], cfg["cond_scale"]
    assert not cfg["first"].any()
    for t, ref in enumerate(steve["outputs"]["cfg_steps"]):
        with torch.no_grad():  # the raw per-stream log-probs, via the plain forward on the 2-row state
            two = frames[t:t + 1].expand(2, -1, -1, -1)[:, None].contiguous()  # (2, 1, 128, 128, 3)
            goals = torch.cat([goal, torch.zeros_like(goal)])[:, None]  # (2, 1, 512)
            raw = policy(two, torch.zeros(2, 1, dtype=torch.bool), state, goal=goals)
        torch.testing.assert_close(raw.logp_camera, ref["pd_raw_camera"][:, :, 0], rtol=0, atol=LOGP_ATOL)
        torch.testing.assert_close(raw.logp_buttons, ref["pd_raw_buttons"][:, :, 0], rtol=0, atol=LOGP_ATOL)
        out = policy.guided_step(frames[t:t + 1], goal, state, cond_scale=s)
        torch.testing.assert_close(out.logp_camera, ref["pd_combined_camera"][:, 0], rtol=0, atol=CFG_ATOL)
        torch.testing.assert_close(out.logp_buttons, ref["pd_combined_buttons"][:, 0], rtol=0, atol=CFG_ATOL)
        det = sample_actions(out.logp_camera, out.logp_buttons, deterministic=True)
        assert torch.equal(det.camera, ref["action_deterministic"]["camera"][:, 0])
        assert torch.equal(det.buttons, ref["action_deterministic"]["buttons"][:, 0])
        torch.testing.assert_close(det.log_prob, ref["log_prob_deterministic"], rtol=0, atol=CFG_ATOL)
        u = ref["u"]
        sto = sample_actions(out.logp_camera, out.logp_buttons,
                             u_camera=u["camera"][:, 0, 0], u_buttons=u["buttons"][:, 0, 0])
        assert torch.equal(sto.camera, ref["action_stochastic"]["camera"][:, 0])
        assert torch.equal(sto.buttons, ref["action_stochastic"]["buttons"][:, 0])
        torch.testing.assert_close(sto.log_prob, ref["log_prob_stochastic"], rtol=0, atol=CFG_ATOL)
        vpred = policy.value_head.denormalize(out.vpred)
        torch.testing.assert_close(vpred, ref["vpred"][:, 0], rtol=0, atol=LOGP_ATOL)
        _assert_state(out.state, ref["state_out"])
        state = out.state
