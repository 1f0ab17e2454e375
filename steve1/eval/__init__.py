"""Programmatic and MineCLIP evaluation, prompt chaining, plots, video writing."""
