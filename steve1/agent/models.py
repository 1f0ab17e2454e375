"""The three models STEVE-1 needs at inference (guided policy, MineCLIP, prior), loaded from the released
files, or built with random weights for tests, benchmarks and the no-download demo.

Released files (steve1.paths): `2x.model` + `steve1.weights` (policy), `attn.pth` (MineCLIP),
`steve1_prior.pt` (prior). When any is missing, `load_agent_models` names every missing file and says to run
`./download_weights.sh`. `random_weights=True` never reads a file: the policy size, MineCLIP config and prior
sizes come from the arguments (goal size = MineCLIP's embedding size), and every log line and video made with
such models says "RANDOM WEIGHTS".

Difference from the original (fixed): `--prior_weights` is honoured (the original parsed it and then used a
hard-coded path).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from steve1 import paths
from steve1.mineclip import MineCLIP, MineClipEmbedder, get_config, load_mineclip, random_mineclip
from steve1.mineclip.checkpoint import is_config_name
from steve1.prior.model import TranslatorVAE, load_prior
from steve1.vpt.config import PolicyConfig, policy_config
from steve1.vpt.policy import VPTPolicy
from steve1.vpt.weights import load_policy_weights

log = logging.getLogger("steve1.agent")

RANDOM_WEIGHTS_LABEL = "RANDOM WEIGHTS"
RELEASED_MINECLIP = "attn"  # the config of the released attn.pth; the others have no weight file
SEEDED_MINECLIP_SEED = 0  # the seed of the data tools' tiny MineCLIP (steve1.data.embedding)
DOWNLOAD_HINT = "run ./download_weights.sh (it puts the released files under data/)"
RANDOM_HINT = ("or, for a smoke test without the released files, pass --random-weights "
               "(e.g. --policy tiny --mineclip tiny --random-weights)")


class MissingWeightsError(FileNotFoundError):
    """A released weight file the agent needs is not on disk."""


@dataclass
class AgentModels:
    """What a STEVE-1 agent runs on. `goal_dim` = MineCLIP's embedding size = the policy's goal input."""

    policy: VPTPolicy
    embedder: MineClipEmbedder
    prior: TranslatorVAE
    random_weights: bool
    description: str

    @property
    def goal_dim(self) -> int:
        return self.embedder.embed_dim

    @property
    def device(self) -> torch.device:
        return next(self.policy.parameters()).device


def _policy_source(policy: str | Path | PolicyConfig) -> tuple[PolicyConfig | None, Path | None]:
    """(config, None) for a size name or config; (None, path) for a `.model` file path."""
    if isinstance(policy, PolicyConfig) or str(policy) in ("1x", "2x", "3x", "small", "tiny"):
        return policy_config(policy), None
    return None, Path(policy)


def check_released_files(files: dict[str, Path]) -> None:
    """Raise MissingWeightsError naming every missing file (what it is and where it was looked for)."""
    missing = [f"{what}: {path}" for what, path in files.items() if not Path(path).is_file()]
    if missing:
        raise MissingWeightsError(
            "missing released weight file(s):\n  " + "\n  ".join(missing)
            + f"\nTo get them, {DOWNLOAD_HINT}; {RANDOM_HINT}.")


SHIPPED_POLICY_SIZE = "small"  # steve1.vpt.config.SMALL_CONFIG: the size the shipped policy was trained at


def shipped_model_files() -> dict:
    """The load_agent_models arguments of the STEVE-1 shipped with the package (trained by this project on
    the embedded Minetest world: policy, its MineCLIP and prior). A clear error when a file is missing."""
    files = {"policy_weights": paths.SHIPPED_POLICY, "mineclip": paths.SHIPPED_MINECLIP,
             "prior_weights": paths.SHIPPED_PRIOR}
    missing = [str(p) for p in files.values() if not Path(p).is_file()]
    if missing:
        raise MissingWeightsError(f"the shipped '{paths.SHIPPED_NAME}' models are not installed "
                                  f"(missing {', '.join(missing)}): reinstall the package (pip install -e .)")
    return {"policy": SHIPPED_POLICY_SIZE, **{k: str(v) for k, v in files.items()}}


def load_agent_models(
    policy: str | Path | PolicyConfig = paths.VPT_MODEL,
    policy_weights: str | Path = paths.STEVE1_WEIGHTS,
    mineclip: str = "attn",
    mineclip_weights: str | Path = paths.MINECLIP_WEIGHTS,
    prior_weights: str | Path = paths.PRIOR_WEIGHTS,
    random_weights: bool = False,
    device: str | torch.device = "cpu",
    seed: int = 0,
    prior_hidden_dim: int | None = None,
) -> AgentModels:
    """Load (or, with random_weights, build) the guided policy, MineCLIP and the prior on `device`.

    policy: a `.model` file (default: the released 2x.model) or a size name (1x, 2x, 3x, tiny).
    mineclip: MineCLIP config ('attn': the released attn.pth; 'tiny'/'reduced': the seeded model of that size
        the data tools embed with, no file read, for policies and priors trained on such data), or the path
        of a MineCLIP checkpoint of ours (`steve1 train-mineclip`), loaded in both modes.
    prior_hidden_dim: random prior's hidden/latent size (default: the goal size; 512 for attn as released).
    policy 'minetest' (steve1.paths.SHIPPED_NAME): the shipped STEVE-1 of the embedded world; its weights,
        MineCLIP and prior replace the other file arguments.
    """
    if str(policy) == paths.SHIPPED_NAME:
        shipped = shipped_model_files()
        policy, policy_weights = shipped["policy"], shipped["policy_weights"]
        mineclip, prior_weights = shipped["mineclip"], shipped["prior_weights"]
    cfg, model_path = _policy_source(policy)
    ours = None if is_config_name(mineclip) else load_mineclip(mineclip, device=device)  # a trained file
    mc_cfg = ours.config if ours is not None else get_config(mineclip)
    if random_weights:
        if cfg is None:
            cfg = policy_config(model_path)  # a .model file holds only sizes: fine with random weights
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            goal_dim = mc_cfg.embed_dim
            net = VPTPolicy(cfg, goal_dim=goal_dim)
            clip_model = ours if ours is not None else MineCLIP(mc_cfg)
            hidden = prior_hidden_dim or goal_dim
            prior = TranslatorVAE(goal_dim, hidden, hidden)
        desc = (f"{RANDOM_WEIGHTS_LABEL}: policy hidsize {cfg.hidsize}, MineCLIP {mineclip} "
                f"(dim {goal_dim}), "
                f"prior hidden {hidden} -- the agent's behaviour is meaningless")
        log.warning("*** %s ***", desc)
        net = net.to(device).eval()
        return AgentModels(net, MineClipEmbedder(clip_model.eval(), device=device), prior.to(device).eval(),
                           True, desc)

    # a small MineCLIP config (tiny) has no weight file: it is the seeded model the data tools embed with
    # (`--mineclip tiny`), so a policy and prior trained on such data run with it
    seeded_clip = ours is None and mineclip != RELEASED_MINECLIP
    files = {"STEVE-1 policy weights": Path(policy_weights), "prior weights": Path(prior_weights)}
    if ours is None and not seeded_clip:
        files["MineCLIP weights"] = Path(mineclip_weights)
    if model_path is not None:
        files = {"VPT model config (2x.model)": model_path, **files}
    check_released_files(files)
    if cfg is None:
        cfg = policy_config(model_path)
    net = VPTPolicy(cfg, goal_dim=mc_cfg.embed_dim)
    load_policy_weights(net, policy_weights)
    if ours is not None:
        clip_model, mineclip_weights = ours, mineclip
    elif seeded_clip:
        clip_model = random_mineclip(mineclip, seed=SEEDED_MINECLIP_SEED).to(device)
        mineclip_weights = f"seeded {mineclip} MineCLIP"
    else:
        clip_model = load_mineclip(mineclip_weights, mineclip, device=device)
    prior = load_prior(prior_weights, device=device)
    if prior.input_dim != mc_cfg.embed_dim:
        raise ValueError(f"prior input size {prior.input_dim} != MineCLIP embedding size {mc_cfg.embed_dim}")
    desc = f"weights: {policy_weights}, {mineclip_weights}, {prior_weights}"
    log.info("%s", desc)
    return AgentModels(net.to(device).eval(), MineClipEmbedder(clip_model, device=device), prior.eval(),
                       False, desc)
