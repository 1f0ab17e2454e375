"""Where the released files and generated data live by default (relative to the working directory).

The layout is the original repository's, so a `data/` folder prepared for it works here unchanged.
"""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path("data")
WEIGHTS_DIR = DATA_DIR / "weights"

VPT_MODEL = WEIGHTS_DIR / "vpt" / "2x.model"
VPT_WEIGHTS = WEIGHTS_DIR / "vpt" / "rl-from-foundation-2x.weights"
MINECLIP_WEIGHTS = WEIGHTS_DIR / "mineclip" / "attn.pth"
STEVE1_WEIGHTS = WEIGHTS_DIR / "steve1" / "steve1.weights"
PRIOR_WEIGHTS = WEIGHTS_DIR / "steve1" / "steve1_prior.pt"
PRIOR_DATASET = DATA_DIR / "prior_dataset" / "data.pkl"
VISUAL_PROMPT_EMBEDS_DIR = DATA_DIR / "visual_prompt_embeds"
IDM_MODEL = WEIGHTS_DIR / "vpt" / "4x_idm.model"
IDM_WEIGHTS = WEIGHTS_DIR / "vpt" / "4x_idm.weights"

CONTRACTOR_DATASET_DIR = DATA_DIR / "dataset_contractor"
MIXED_AGENTS_DATASET_DIR = DATA_DIR / "dataset_mixed_agents"
SAMPLINGS_DIR = DATA_DIR / "samplings"

# The STEVE-1 trained by this project on the embedded Minetest world, shipped inside the package (small
# files, installed with it; `--mineclip minetest`, `--policy minetest`, `--prior-weights minetest`).
SHIPPED_NAME = "minetest"
SHIPPED_DIR = Path(__file__).resolve().parent / "weights" / SHIPPED_NAME
SHIPPED_MINECLIP = SHIPPED_DIR / "mineclip.pth"  # + mineclip.config.json beside it (our size config)
SHIPPED_POLICY = SHIPPED_DIR / "policy.weights"  # + policy.config.json (the VPT size it was trained at)
SHIPPED_PRIOR = SHIPPED_DIR / "prior.pt"
GENERATED_VIDEOS_DIR = DATA_DIR / "generated_videos"
