"""Sizes of the quickstart. Only sizes differ from the paper recipe (`train/`, `run_agent/`, configs/)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from steve1 import paths


@dataclass(frozen=True)
class QuickstartSettings:
    scale: str
    # generate: mixed agents on the embedded world, MineCLIP embeddings while the episodes run
    world: str = "minetest"
    num_worlds: int = 2
    episodes_per_world: int = 1
    episode_steps: int = 150
    switch_agent_prob: float = 0.01  # paper: 0.001 over 7200-step episodes; raised so short episodes switch
    perform_spin_prob: float = 0.01  # paper: 0.00133
    seed: int = 0
    # fine-tune (hindsight relabeling, packed sequences of T steps in chunks of trunc_t)
    T: int = 32
    trunc_t: int = 8
    min_btwn_goals: int = 15
    max_btwn_goals: int = 40
    batch_size: int = 4
    train_frames: int = 2_048
    learning_rate: float = 1e-3
    # label + prior
    label_stride: int = 16
    prior_epochs: int = 20
    prior_batch_size: int = 64
    # run the agent: prompted vs unprompted, side by side in two worlds
    prompt: str = "chop a tree"
    agent_steps: int = 150
    agent_episodes: int = 1  # per condition
    agent_world_seed: int = 12345  # Minetest seed 12345 spawns in a pine forest with trunks in reach
    cond_scale: float = 6.0  # the paper's text-prompt guidance scale
    video_height: int = 180
    # released files (used instead of training from scratch where present)
    weights_dir: str = str(paths.WEIGHTS_DIR)
    mineclip: str = "auto"  # auto: released attn.pth when present, else tiny; "released"; "tiny"; "minetest"
    device: str = "cpu"

    def with_overrides(self, **kw) -> QuickstartSettings:
        return dataclasses.replace(self, **{k: v for k, v in kw.items() if v is not None})

    # released files
    def _w(self, rel: Path) -> Path:
        return Path(self.weights_dir) / rel.relative_to(paths.WEIGHTS_DIR)

    @property
    def vpt_model(self) -> Path:
        return self._w(paths.VPT_MODEL)

    @property
    def vpt_weights(self) -> Path:
        return self._w(paths.VPT_WEIGHTS)

    @property
    def mineclip_weights(self) -> Path:
        return self._w(paths.MINECLIP_WEIGHTS)

    @property
    def steve1_weights(self) -> Path:
        return self._w(paths.STEVE1_WEIGHTS)

    @property
    def prior_weights(self) -> Path:
        return self._w(paths.PRIOR_WEIGHTS)

    def has_vpt(self) -> bool:
        return self.vpt_model.is_file() and self.vpt_weights.is_file()

    def has_mineclip(self) -> bool:
        return self.mineclip_weights.is_file()

    def released_mineclip(self) -> bool:
        """Whether the run embeds with the released attn.pth (else the tiny seeded model)."""
        if self.mineclip not in ("auto", "released", "tiny"):  # minetest (shipped) or a MineCLIP of ours
            from steve1.mineclip.checkpoint import mineclip_file

            if not mineclip_file(self.mineclip).is_file():  # says so itself when the shipped file is missing
                raise FileNotFoundError(f"--mineclip {self.mineclip}: not auto, released, tiny, "
                                        f"{paths.SHIPPED_NAME} or a file")
            return False
        if self.mineclip == "released" and not self.has_mineclip():
            raise FileNotFoundError(f"--mineclip released: {self.mineclip_weights} not found; run "
                                    f"./download_weights.sh or use --mineclip auto")
        return self.mineclip != "tiny" and self.has_mineclip()


SCALES = {
    # CI: every stage at the smallest size that still exercises it (a few minutes on two cores)
    "ci": QuickstartSettings(scale="ci", episode_steps=120, train_frames=1_024, prior_epochs=10,
                             agent_steps=100),
    # the newcomer's run: under 20 minutes on two CPU cores
    "quick": QuickstartSettings(
        scale="quick", episodes_per_world=2, episode_steps=500, T=64, trunc_t=16, max_btwn_goals=100,
        train_frames=20_000, prior_epochs=50, agent_steps=300, agent_episodes=2,
    ),
}


def get_settings(scale: str) -> QuickstartSettings:
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}") from None
