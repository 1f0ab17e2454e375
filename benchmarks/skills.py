"""Success rate of the scripted skill agents in the real Minetest game, from fresh spawns.

    python -m benchmarks.skills --episodes 10

Each skill runs `--episodes` attempts, attempt i in a fresh world from SKILL_WORLD_SEEDS[skill][i] (a fixed
list: spawns with what the skill needs nearby), several worlds at once (--worlds), with the skill's start
items given (SKILL_START_ITEMS). An attempt succeeds when the skill's goal (steve1.data.skills.GOALS, checked
from observations and senses only) is reached within the skill's time limit (`time_limit` steps). One row
per skill: attempts, successes, median steps to success. Last line: `skills=<k> min_success=<x>` (the lowest
success fraction over the skills). The random agent has no goal and is not run.
"""
from __future__ import annotations

import argparse
import inspect
import os
import time

import numpy as np

from steve1.data import skills as skill_agents
from steve1.data.skills import GOALS, SENSES_KEY, SKILL_START_ITEMS, SKILLS, SkillGoal, make_skill_agent
from steve1.envs import make_world
from steve1.spaces import noop_action

SETTLE_STEPS = 10  # idle steps after a spawn (the player may still be falling)
SMALL_RESOLUTION = (128, 128)  # skills do not look at pixels: the smallest render size the world allows
SENSES_US: list[float] = []  # what senses.collect took per report (microseconds), over the whole run


def _make(viewing_range: int, fps_max: int):
    kwargs = {"viewing_range": viewing_range, "fps_max": fps_max}
    from steve1.envs.minetest import MinetestWorld

    if "resolution" in inspect.signature(MinetestWorld.__init__).parameters:
        kwargs["resolution"] = SMALL_RESOLUTION
    return make_world("minetest", **kwargs)


def _with_senses(obs: dict, info: dict) -> dict:
    return {**obs, SENSES_KEY: info.get("senses") or {}}


def run_batch(worlds, skill: str, seeds: list[int], agent_seed: int) -> list[dict]:
    """Run one attempt per seed side by side (worlds[i] takes seeds[i]); one result dict per attempt."""
    worlds = worlds[:len(seeds)]
    agent = make_skill_agent(skill, seed=agent_seed)
    agent.reset(len(worlds))
    obs_batch = []
    for world, seed in zip(worlds, seeds, strict=True):
        world.reset(seed=seed)
        for item, count in SKILL_START_ITEMS.get(skill, {}).items():
            world.give(item, count)
        for _ in range(SETTLE_STEPS):
            obs, _, _, _, info = world.step(noop_action())
        obs_batch.append(_with_senses(obs, info))
    goals = [SkillGoal(skill, obs) for obs in obs_batch]
    results = [{"seed": s, "success": False, "steps": None, "fault": None} for s in seeds]
    active = list(range(len(worlds)))
    limit = SKILLS[skill].time_limit
    for t in range(1, limit + 1):
        actions = agent.act([obs_batch[i] for i in active], active)
        for i, action in zip(active, actions, strict=True):
            worlds[i].step_send(action)
        for i in active:
            obs, _, _, truncated, info = worlds[i].step_wait()
            obs_batch[i] = _with_senses(obs, info)
            SENSES_US.append(float(obs_batch[i][SENSES_KEY].get("us", 0.0)))
            if truncated:
                results[i]["fault"] = info.get("fault")
            elif goals[i].update(obs_batch[i]):
                results[i].update(success=True, steps=t)
        active = [i for i in active if not results[i]["success"] and not results[i]["fault"]]
        if not active:
            break
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10, help="attempts per skill")
    parser.add_argument("--worlds", type=int, default=3, help="Minetest worlds run side by side")
    parser.add_argument("--skills", default=",".join(GOALS), help="comma-separated skill names")
    parser.add_argument("--viewing-range", type=int, default=40)
    parser.add_argument("--fps-max", type=int, default=15)
    args = parser.parse_args(argv)
    skills = [s for s in args.skills.split(",") if s]
    unknown = [s for s in skills if s not in GOALS]
    if unknown:
        parser.error(f"unknown skills {unknown}; choose from {list(GOALS)}")
    if args.episodes < 1 or args.worlds < 1:
        parser.error("--episodes and --worlds must be at least 1")
    worlds = []
    fractions = []
    t_start = time.perf_counter()
    try:
        for _ in range(min(args.worlds, args.episodes)):
            worlds.append(_make(args.viewing_range, args.fps_max))
        print(f"{'skill':<14} {'attempts':>8} {'successes':>9} {'median_steps':>12} {'limit':>6}  goal")
        for skill in skills:
            seeds_all = skill_agents.SKILL_WORLD_SEEDS[skill]
            seeds = [seeds_all[i % len(seeds_all)] for i in range(args.episodes)]
            results = []
            for start in range(0, len(seeds), len(worlds)):
                results += run_batch(worlds, skill, seeds[start:start + len(worlds)], agent_seed=start)
            wins = [r for r in results if r["success"]]
            median = float(np.median([r["steps"] for r in wins])) if wins else float("nan")
            faults = sum(bool(r["fault"]) for r in results)
            failed = [r["seed"] for r in results if not r["success"]]
            fractions.append(len(wins) / len(results))
            limit = SKILLS[skill].time_limit
            print(f"{skill:<14} {len(results):>8} {len(wins):>9} {median:>12.0f} {limit:>6}  {GOALS[skill]}"
                  + (f"  failed_seeds={failed}" if failed else "")
                  + (f" faults={faults}" if faults else ""), flush=True)
    finally:
        for world in worlds:
            world.close()
    print(f"elapsed_s={time.perf_counter() - t_start:.0f} worlds={len(worlds)} "
          f"senses_us_median={np.median(SENSES_US or [0]):.0f} "
          f"senses_us_p99={np.percentile(SENSES_US or [0], 99):.0f} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")
    print(f"skills={len(skills)} min_success={min(fractions):.2f}")


if __name__ == "__main__":
    main()
