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
import os
import time
from dataclasses import dataclass, field

import numpy as np

from steve1.data import skills as skill_agents
from steve1.data.skills import GOALS, SENSES_KEY, SKILL_START_ITEMS, SKILLS, SkillGoal, make_skill_agent
from steve1.envs import make_world
from steve1.envs.scheduler import WorldScheduler
from steve1.spaces import noop_action

SETTLE_STEPS = 10  # idle steps after a spawn (the player may still be falling)
SMALL_RESOLUTION = (128, 128)  # skills do not look at pixels: the smallest render size the world allows
SENSES_US: list[float] = []  # what senses.collect took per report (microseconds), over the whole run


def _make(viewing_range: int, fps_max: int):
    return make_world("minetest", viewing_range=viewing_range, fps_max=fps_max, resolution=SMALL_RESOLUTION)


def _with_senses(obs: dict, info: dict) -> dict:
    return {**obs, SENSES_KEY: info.get("senses") or {}}


@dataclass
class Attempt:
    """One attempt of a skill from a fresh spawn (a scheduler job)."""

    key: str
    seed: int
    attempts: int = 0
    faults: list = field(default_factory=list)
    success: bool = False
    steps: int | None = None


@dataclass
class _Running:
    attempt: Attempt
    obs: dict
    goal: SkillGoal
    t: int = 0


class SkillAttempts:
    """The scheduler task: each slot runs one attempt until the skill's goal is met or its time is up."""

    def __init__(self, skill: str, agent_seed: int, n_worlds: int):
        self.skill, self.limit = skill, SKILLS[skill].time_limit
        self.agent = make_skill_agent(skill, seed=agent_seed)
        self.agent.reset(n_worlds)

    def start(self, slot, attempt, world, obs, info):
        for item, count in SKILL_START_ITEMS.get(self.skill, {}).items():
            world.give(item, count)
        for _ in range(SETTLE_STEPS):
            obs, _, _, _, info = world.step(noop_action())
        self.agent.reset_slots([slot])
        obs = _with_senses(obs, info)
        return _Running(attempt, obs, SkillGoal(self.skill, obs))

    def act(self, slots, states):
        return self.agent.act([r.obs for r in states], slots)

    def step(self, slot, r, action, obs, reward, terminated, truncated, info) -> bool:
        r.t += 1
        r.obs = _with_senses(obs, info)
        SENSES_US.append(float(r.obs[SENSES_KEY].get("us", 0.0)))
        if r.goal.update(r.obs):
            r.attempt.success, r.attempt.steps = True, r.t
        return r.attempt.success or r.t >= self.limit

    def abandon(self, slot, r, message) -> None:  # a world fault: the attempt reruns from its seed
        r.attempt.success, r.attempt.steps = False, None

    def stop(self, slot, r, error) -> None:
        pass


def run_skill(skill: str, seeds: list[int], n_worlds: int, make) -> list[Attempt]:
    """Every attempt of one skill over `n_worlds` worlds side by side (one scheduler run)."""
    attempts = [Attempt(f"{skill}-{i}", seed) for i, seed in enumerate(seeds)]
    scheduler = WorldScheduler(lambda slot: make(), n_worlds=min(n_worlds, len(seeds)), max_retries=1)
    scheduler.run(attempts, SkillAttempts(skill, agent_seed=0, n_worlds=scheduler.n_worlds))
    return attempts


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
    fractions = []
    t_start = time.perf_counter()
    print(f"{'skill':<14} {'attempts':>8} {'successes':>9} {'median_steps':>12} {'limit':>6}  goal")
    for skill in skills:
        seeds_all = skill_agents.SKILL_WORLD_SEEDS[skill]
        seeds = [seeds_all[i % len(seeds_all)] for i in range(args.episodes)]
        results = run_skill(skill, seeds, args.worlds, lambda: _make(args.viewing_range, args.fps_max))
        wins = [r for r in results if r.success]
        median = float(np.median([r.steps for r in wins])) if wins else float("nan")
        faults = sum(len(r.faults) for r in results)
        failed = [r.seed for r in results if not r.success]
        fractions.append(len(wins) / len(results))
        limit = SKILLS[skill].time_limit
        print(f"{skill:<14} {len(results):>8} {len(wins):>9} {median:>12.0f} {limit:>6}  {GOALS[skill]}"
              + (f"  failed_seeds={failed}" if failed else "")
              + (f" faults={faults}" if faults else ""), flush=True)
    print(f"elapsed_s={time.perf_counter() - t_start:.0f} worlds={args.worlds} "
          f"senses_us_median={np.median(SENSES_US or [0]):.0f} "
          f"senses_us_p99={np.percentile(SENSES_US or [0], 99):.0f} "
          f"load_avg_1min={os.getloadavg()[0]:.1f}")
    print(f"skills={len(skills)} min_success={min(fractions):.2f}")


if __name__ == "__main__":
    main()
