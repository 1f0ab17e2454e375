"""Runners on top of the agent: paper videos, a video for any prompt, the interactive session, evaluations.

Each module has `add_arguments(parser)`, `run(args) -> exit status` and `main(argv)` (`python -m
steve1.run.<name>`): `prompt_video` (steve1 run-agent), `paper_videos` (steve1 paper-videos), `interactive`
(steve1 interactive), `evaluate` (steve1 evaluate). `episodes` runs many episodes over batched worlds.
"""
