"""steve1: a faithful, fast, tested re-implementation of STEVE-1 (Lifshitz et al., NeurIPS 2023)."""

__version__ = "0.1.0"
