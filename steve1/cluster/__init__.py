"""Running the data and evaluation verbs on a Ray cluster (`--ray [ADDRESS]` or STEVE1_RAY; the `cluster`
extra). Nothing here imports Ray until a verb is run with it, so the local path never loads it.

    runtime      connect to (or start) Ray from `--ray [ADDRESS]` / STEVE1_RAY; resources of a job
    tasks        run episode jobs as Ray tasks: declared resources, retries, models loaded once per worker
    convert      convert-contractor: one task per contractor episode
    embed        embed: one task per episode
    label        label-video: one task per video
    worlds       a world per Ray actor, driven by steve1.envs.scheduler as a local world is
    generation   gen-mixed-agents: worlds as actors, both agents and MineCLIP batched in one model actor
"""
