"""The models the quickstart composes: released files when they are on disk, small seeded ones otherwise."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from steve1.data.agents import VPTAgent
from steve1.quickstart.settings import QuickstartSettings

log = logging.getLogger("steve1.quickstart")

TINY_MINECLIP_NOTE = ("MineCLIP: not the released attn.pth but the TINY config with seeded RANDOM weights -- "
                      "its embeddings (and so every label pairing, goal and MineCLIP number) mean nothing")
TINY_MINECLIP_SEED = 0  # the same seeded tiny model as `steve1.data.embedding.make_mineclip_embed_fn`

_EMBEDDERS: dict = {}


def mineclip_embedder(settings: QuickstartSettings, batch_size: int = 16):
    """(MineClipEmbedder, description, real). Real = the released attn.pth; else the tiny seeded model with a
    512-d output (the goal size the policy and the prior take). Cached per process."""
    from steve1.mineclip import MineClipEmbedder, load_mineclip, random_mineclip

    released = settings.released_mineclip()
    ours = settings.mineclip not in ("auto", "released", "tiny")  # a checkpoint of ours
    source = settings.mineclip if ours else str(settings.mineclip_weights) if released else "tiny"
    key = (source, settings.device)
    if key not in _EMBEDDERS:
        if ours:
            model = load_mineclip(settings.mineclip, device="cpu")  # sizes from its sidecar
            desc, real = f"MineCLIP of ours ({settings.mineclip})", False
        elif released:
            model = load_mineclip(settings.mineclip_weights, config="attn", device="cpu")
            desc, real = f"MineCLIP attn (released {settings.mineclip_weights})", True
        else:
            model = random_mineclip("tiny", seed=TINY_MINECLIP_SEED)
            desc, real = TINY_MINECLIP_NOTE, False
            log.warning("*** %s ***", desc)
        _EMBEDDERS[key] = (MineClipEmbedder(model, device=settings.device, batch_size=batch_size), desc, real)
    return _EMBEDDERS[key]


class RandomInitVPTAgent(VPTAgent):
    """An unconditioned VPT agent of a given size with seeded random weights (no file needed)."""

    def __init__(self, size: str = "tiny", seed: int = 0, device: str = "cpu"):
        from steve1.vpt.config import policy_config
        from steve1.vpt.policy import VPTPolicy

        self.name = f"vpt_{size}_random_init"
        self.in_model, self.in_weights = size, f"{size}.random_init"
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.policy = VPTPolicy(policy_config(size)).to(self.device).eval()
        self.deterministic = False
        self.state = None


def generation_agents(settings: QuickstartSettings) -> tuple[object, object, str]:
    """The two agents of mixed-agent generation and a sentence saying which they are."""
    from steve1.data.agents import RandomAgent, make_vpt_agent

    if settings.has_vpt():
        agent1 = make_vpt_agent(str(settings.vpt_model), str(settings.vpt_weights), device=settings.device)
        note = f"released VPT ({settings.vpt_weights.name}) + random agent"
    else:
        agent1 = RandomInitVPTAgent("tiny", seed=settings.seed, device=settings.device)
        note = "tiny VPT with RANDOM weights (no released VPT files) + random agent"
    return agent1, RandomAgent("random", seed=settings.seed + 1), note


def load_goal_policy(size_or_model: str, weights: str):
    """The goal-conditioned policy (goal size 512) with weights from a `.weights` file."""
    from steve1.vpt.config import policy_config
    from steve1.vpt.policy import VPTPolicy
    from steve1.vpt.weights import load_policy_weights

    policy = VPTPolicy(policy_config(size_or_model), goal_dim=512)
    load_policy_weights(policy, weights)
    return policy.eval()


def text_goals(texts: Sequence[str], embedder, prior, seed: int) -> np.ndarray:
    """(N, 512) goals from the prior, reproducible for a seed."""
    from steve1.agent import text_goals as _text_goals

    return _text_goals(list(texts), embedder, prior, generator=torch.Generator().manual_seed(seed))
