"""Programmatic and MineCLIP evaluation, prompt chaining, plots, video writing.

Modules: `metrics` (ProgrammaticMetrics), `mineclip_eval` (min_cosine_distance, prompt_distance_matrix),
`chaining` (PromptSchedule, paper_chain), `results` (CSV/JSON, mean_ci95), `plots` (plot_prompt_bars,
plot_distance_matrix), `report` (summary + plots from a results CSV), `video` (write_video, read_video,
frame_with_prompt_panel). Import them directly; this package imports nothing heavy on its own.
"""
