"""Mixed-agent generation with real VPT policies (tiny config, random weights) and the real MineCLIP embedder.

These need `steve1.vpt` (policy) and `steve1.mineclip` (embedder), which land on main from their own branches.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
VPTPolicy = pytest.importorskip("steve1.vpt.policy", reason="steve1.vpt policy not merged yet").VPTPolicy
policy_config = pytest.importorskip("steve1.vpt.config").policy_config

from steve1.data.agents import VPTAgent, make_agent, vpt_agent_name  # noqa: E402
from steve1.data.gen_mixed_agents import MixedAgentGenerator, switch_probs  # noqa: E402
from steve1.vpt.actions import env_to_agent  # noqa: E402


@pytest.fixture()
def tiny_weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "rl-from-tiny.weights"
    torch.save(VPTPolicy(policy_config("tiny")).state_dict(), path)
    return str(path)


def _obs(n, seed):
    rng = np.random.default_rng(seed)
    return [{"pov": rng.integers(0, 255, (360, 640, 3), dtype=np.uint8)} for _ in range(n)]


def test_vpt_agent_slot_reset_is_exact(tiny_weights):
    a = VPTAgent("tiny", tiny_weights, deterministic=True)
    fresh = VPTAgent("tiny", tiny_weights, deterministic=True)
    assert a.name == "rl_from_tiny" == vpt_agent_name(tiny_weights)
    assert switch_probs(a.name, "bc_house_3x", 0.001) == (1 / 3000, 1 / 1000)
    a.reset(3)
    for t in range(4):
        a.act(_obs(3, t), [0, 1, 2])
    a.act(_obs(2, 9), [0, 2])  # a subset of slots acts
    a.reset_slots([1])
    fresh.reset(1)
    obs = _obs(3, 42)
    acts = a.act(obs, [0, 1, 2])
    ref = fresh.act([obs[1]], [0])
    assert acts[1].keys() == ref[0].keys()
    assert all(np.array_equal(acts[1][k], ref[0][k]) for k in ref[0])
    for (m, (k, _)), (fm, (fk, _)) in zip(a.state, fresh.state, strict=True):
        assert torch.equal(m[1], fm[0]) and torch.allclose(k[1], fk[0], atol=1e-5)  # batch rounding only
        assert m[0].sum() == 6  # slot 0 kept its memory: 4 + 1 + 1 frames
    assert acts[0]["camera"].shape == (1, 2) and acts[0]["forward"].shape == (1,)
    env_to_agent(acts)  # the stored format converts back


def test_generation_with_vpt_agents(tmp_path, tiny_weights):
    frames = _obs(4, 0)

    class World:
        def reset(self, seed=None):
            self.t = 0
            return frames[0], {}

        def step(self, action):
            self.t += 1
            return frames[self.t % 4], 0.0, False, False, {}

        def close(self):
            pass

    a1 = make_agent(f"vpt:tiny:{tiny_weights}")
    a2 = make_agent(f"vpt:tiny:{tiny_weights}")
    gen = MixedAgentGenerator(a1, a2, lambda i: World(), lambda f: [None] * len(f), tmp_path / "out",
                              max_timesteps=20, min_timesteps=10, switch_agent_prob=0.1, seed=0, num_worlds=2,
                              progress=False)
    stats = gen.run(2)
    assert len(stats.saved) == 2
    assert all("_models[rl-from-tiny,rl-from-tiny]_mxFrm20_nmFrm20_" in p.name for p in stats.saved)


def test_tiny_mineclip_embed_fn():
    pytest.importorskip("steve1.mineclip.embedder", reason="steve1.mineclip not merged yet")
    from steve1.data.embedding import StreamingEmbedder, make_mineclip_embed_fn

    fn = make_mineclip_embed_fn(None, "tiny", "cpu", batch_size=8)
    frames = np.random.default_rng(0).integers(0, 255, (40, 160, 256, 3), dtype=np.uint8)
    whole = fn(frames)
    assert whole[:15] == [None] * 15 and whole[15].shape == (1, 512) and whole[15].dtype == np.float32
    se = StreamingEmbedder(fn)
    parts = se.push(frames[:20]) + se.push(frames[20:])
    np.testing.assert_allclose(np.concatenate(parts[15:]), np.concatenate(whole[15:]), atol=1e-5)


def test_embed_fn_for_picks_the_named_embedder_and_rejects_unknown_names():
    from steve1.data.embedding import embed_fn_for, fake_embed_fn, make_mineclip_embed_fn

    assert embed_fn_for("fake") is fake_embed_fn
    frames = np.random.default_rng(1).integers(0, 255, (16, 160, 256, 3), dtype=np.uint8)
    tiny = embed_fn_for("tiny", "ignored.pth", "cpu", batch_size=4)(frames)[15]
    np.testing.assert_array_equal(tiny, make_mineclip_embed_fn(None, "tiny", "cpu", batch_size=4)(frames)[15])
    with pytest.raises(ValueError, match="unknown mineclip config 'clip': use attn, tiny, fake"):
        embed_fn_for("clip")
    with pytest.raises(ValueError, match="unknown MineCLIP dtype 'fp16'"):
        embed_fn_for("tiny", dtype="fp16")
    with pytest.raises(FileNotFoundError, match="MineCLIP weights not found at"):
        embed_fn_for("attn", "/nonexistent/attn.pth")
