"""Runnable benchmarks: `python -m benchmarks.<name>`; each prints its figures as its last line."""
