"""The CVAE prior that turns a MineCLIP text embedding into a MineCLIP visual goal embedding."""
from steve1.prior.model import PriorWeightsError, TranslatorVAE, load_prior

__all__ = ["PriorWeightsError", "TranslatorVAE", "load_prior"]
