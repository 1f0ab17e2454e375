"""The STEVE-1 prior: a conditional VAE from a MineCLIP text embedding to a MineCLIP visual embedding.

Weight-compatible with the released `steve1_prior.pt` (20 tensors; `nn.Sequential` indices 0/1/3/4/6, the
ReLUs at 2 and 5 hold no parameters). Encoder q(z | visual, text) reads visual‖text; decoder
p(visual | z, text) reads z‖text. At inference the latent prior is N(0, I) (not a learned conditional
prior), as in the original.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from steve1 import paths
from steve1.utils.state_dict import StateDictError, check_state_dict
from steve1.vpt.config import MINECLIP_DIM

# PRIOR_INFO sizes of the released prior (the class defaults of the original, 512/256/256, are never used).
PRIOR_HIDDEN_DIM = 512
PRIOR_LATENT_DIM = 512


def _mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU(),
        nn.Linear(hidden_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU(),
        nn.Linear(hidden_dim, out_dim),
    )


class TranslatorVAE(nn.Module):
    """CVAE prior; `forward(text)` / `sample(text)` return a goal embedding in MineCLIP's visual space."""

    def __init__(self, input_dim: int = MINECLIP_DIM, hidden_dim: int = PRIOR_HIDDEN_DIM,
                 latent_dim: int = PRIOR_LATENT_DIM) -> None:
        super().__init__()
        self.input_dim, self.hidden_dim, self.latent_dim = input_dim, hidden_dim, latent_dim
        self.encoder = _mlp(2 * input_dim, hidden_dim, 2 * latent_dim)  # (B, 2D) -> (B, 2L) = mu‖logvar
        self.decoder = _mlp(latent_dim + input_dim, hidden_dim, input_dim)  # (B, L+D) -> (B, D)

    def encode(self, visual: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, D), (B, D) -> (B, 2L): mu and logvar concatenated (visual first in the input)."""
        return self.encoder(torch.cat([visual, text], dim=-1))

    def decode(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B, L), (B, D) -> (B, D) visual embedding (latent first in the input)."""
        return self.decoder(torch.cat([z, text], dim=-1))

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
        """z = mu + eps * exp(logvar / 2), eps ~ N(0, I) unless given."""
        std = torch.exp(0.5 * logvar)
        if eps is None:
            eps = _randn(std.shape, generator, std.device, std.dtype)
        return mu + eps * std

    def posterior(self, visual: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (B, L)."""
        return self.encode(visual, text).chunk(2, dim=-1)

    def sample(self, text_embed: torch.Tensor, generator: torch.Generator | None = None,
               deterministic: bool = False) -> torch.Tensor:
        """(B, D) text embeddings -> (B, D) goal embeddings; z ~ N(0, I) (or z = 0 when deterministic).

        Stochastic by default, as the original's `get_prior_embed`; pass a seeded `torch.Generator` to repeat.
        """
        text_embed = self._check_text(text_embed)
        shape = (text_embed.shape[0], self.latent_dim)
        if deterministic:
            z = torch.zeros(shape, device=text_embed.device, dtype=text_embed.dtype)
        else:
            z = _randn(shape, generator, text_embed.device, text_embed.dtype)
        return self.decode(z, text_embed)

    def forward(self, text_embed: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """The original's inference call: `sample` with the global torch RNG."""
        return self.sample(text_embed, deterministic=deterministic)

    def _check_text(self, text_embed: torch.Tensor) -> torch.Tensor:
        """Validate; move to the model's device and dtype (numpy arrays, e.g. MineCLIP's, accepted)."""
        if isinstance(text_embed, np.ndarray):
            text_embed = torch.from_numpy(text_embed)
        if not torch.is_tensor(text_embed):
            raise TypeError(f"text_embed must be a torch.Tensor of shape (B, {self.input_dim}), "
                            f"got {type(text_embed).__name__}")
        if text_embed.ndim == 1:
            text_embed = text_embed[None]
        if text_embed.ndim != 2 or text_embed.shape[1] != self.input_dim:
            raise ValueError(f"text_embed must have shape (B, {self.input_dim}), "
                             f"got {tuple(text_embed.shape)}")
        if not text_embed.is_floating_point():
            raise ValueError(f"text_embed must be a float tensor, got {text_embed.dtype}")
        param = self.decoder[0].weight
        return text_embed.to(param.device, param.dtype)


def _randn(shape, generator: torch.Generator | None, device: torch.device,
           dtype: torch.dtype) -> torch.Tensor:
    """N(0, 1) noise on `device`, drawn from `generator` on its own device (a CPU generator works on CUDA)."""
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


class PriorWeightsError(StateDictError):
    """A prior weight file does not match `TranslatorVAE`."""


def check_prior_state_dict(model: TranslatorVAE, state_dict: dict, source: str = "state dict") -> None:
    """Raise PriorWeightsError naming missing keys, unexpected keys and wrong shapes."""
    check_state_dict(
        {k: v.shape for k, v in model.state_dict().items()}, state_dict,
        f"{source} is not a TranslatorVAE(input_dim={model.input_dim}, hidden_dim={model.hidden_dim}, "
        f"latent_dim={model.latent_dim}) state dict",
        hint="Pass the released steve1_prior.pt (or a file written by `python -m steve1.prior.train`).",
        error=PriorWeightsError,
    )


def _sizes_in(state_dict: dict) -> dict[str, int]:
    """(input, hidden, latent) sizes read off a prior state dict's shapes, where its layers are there."""
    shape = {k: tuple(v.shape) for k, v in state_dict.items() if hasattr(v, "shape")}
    sizes = {}
    if len(shape.get("encoder.0.weight", ())) == 2:
        sizes["hidden_dim"] = shape["encoder.0.weight"][0]
    if len(shape.get("encoder.6.weight", ())) == 2:
        sizes["latent_dim"] = shape["encoder.6.weight"][0] // 2  # mean and log-variance
    if len(shape.get("decoder.6.weight", ())) == 2:
        sizes["input_dim"] = shape["decoder.6.weight"][0]
    return sizes


def load_prior(path: str | Path = paths.PRIOR_WEIGHTS, device: str | torch.device = "cpu",
               input_dim: int | None = None, hidden_dim: int | None = None,
               latent_dim: int | None = None) -> TranslatorVAE:
    """Load a prior state dict strictly, in eval mode: the released `steve1_prior.pt` (512/512/512) or one of
    your own (`steve1 train-prior`); sizes not given are read off the file's shapes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prior weights {path} not found: run ./download_weights.sh or pass the path "
                                f"of steve1_prior.pt")
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a corrupt/foreign file
        # (torch's own message suggests weights_only=False, which would run code from the file: not shown)
        raise PriorWeightsError(f"{path} is not a readable torch weight file ({type(e).__name__}); "
                                f"re-download steve1_prior.pt") from None
    if isinstance(state_dict, dict) and isinstance(state_dict.get("state_dict"), dict):
        state_dict = state_dict["state_dict"]
    if not isinstance(state_dict, dict):
        raise PriorWeightsError(f"{path} holds a {type(state_dict).__name__}, expected a state dict")
    state_dict = {k.removeprefix("_orig_mod."): v for k, v in state_dict.items()}  # torch.compile wrapper
    found = _sizes_in(state_dict)
    model = TranslatorVAE(input_dim or found.get("input_dim", MINECLIP_DIM),
                          hidden_dim or found.get("hidden_dim", PRIOR_HIDDEN_DIM),
                          latent_dim or found.get("latent_dim", PRIOR_LATENT_DIM))
    check_prior_state_dict(model, state_dict, source=str(path))
    model.load_state_dict(state_dict, strict=True)
    return model.to(device).eval()
