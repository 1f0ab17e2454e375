"""Sizes of the quickstart. The stages are the embedded world's recipe (train/5_minetest_recipe.sh), small."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from steve1.data.skills import SKILLS

ALL_SKILLS = "+".join(name for name in SKILLS if name != "random")  # the scripted skills, no random agent


@dataclass(frozen=True)
class QuickstartSettings:
    scale: str
    # shipped: the STEVE-1 that ships with the package (steve1/weights/minetest), prompted vs unprompted
    shipped_agent: bool = True
    # generate: scripted skills switching at random times in fast Minetest worlds (placeholder embeddings:
    # the episodes are embedded by the MineCLIP trained on them, in the embed stage)
    num_worlds: int = 4
    episodes: int = 4
    episode_steps: int = 400
    skills: str = ALL_SKILLS
    seed: int = 0
    # mineclip: our MineCLIP trained contrastively on the captioned clips of those episodes
    mineclip_size: str = "tiny"
    mineclip_steps: int = 20
    mineclip_batch_size: int = 16
    # fine-tune (hindsight relabeling, packed sequences of T steps in chunks of trunc_t)
    policy: str = "tiny"
    T: int = 64
    trunc_t: int = 16
    min_btwn_goals: int = 15
    max_btwn_goals: int = 100
    batch_size: int = 4
    train_frames: int = 4_096
    learning_rate: float = 1e-3
    # label + prior
    label_stride: int = 16
    prior_epochs: int = 20
    prior_batch_size: int = 64
    # run an agent: prompted vs unprompted, side by side, from the same world seeds
    prompt: str = "go explore"  # the prompt the shipped agent follows on the benchmark
    agent_steps: int = 300
    agent_episodes: int = 1  # per condition
    agent_world_seed: int = 6  # Minetest seed 6 spawns in grassland with trees and water in sight
    cond_scale: float | None = None  # guidance; None: the policy's own (steve1.agent.guidance), else 6
    video_height: int = 180
    device: str = "cpu"

    def with_overrides(self, **kw) -> QuickstartSettings:
        return dataclasses.replace(self, **{k: v for k, v in kw.items() if v is not None})


SCALES = {
    # CI: every stage at the smallest size that still exercises it (a few minutes on two cores)
    # (two skills that caption every clip they act in, so that the contrastive stage has two events)
    "ci": QuickstartSettings(scale="ci", num_worlds=2, episodes=2, episode_steps=120,
                             skills="look_at_sky+explore", T=32, trunc_t=8, max_btwn_goals=40,
                             mineclip_steps=4, mineclip_batch_size=8, train_frames=1_024,
                             prior_epochs=10, agent_steps=100),
    # the newcomer's run: the shipped agent first (minutes), then the recipe small (under 20 minutes)
    "quick": QuickstartSettings(scale="quick", agent_episodes=2),
}


def get_settings(scale: str) -> QuickstartSettings:
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}") from None
