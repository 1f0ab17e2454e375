"""The steerability benchmark: the steered rule on synthetic numbers, held-out seeds, the jobs it builds and
what it makes of their rows; and one short end-to-end run in the real Minetest world (tiny random models)."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from benchmarks import steerability as sb
from steve1.agent.guidance import policy_guidance
from steve1.data.gen_mixed_agents import episode_seed
from steve1.data.skills import SKILL_WORLD_SEEDS
from steve1.envs.minetest import minetest_available
from steve1.eval.seeds import TrainingSeedError, check_held_out, training_episode_index
from steve1.eval.steering import Interval, compare, is_steered, ratio, summary_line

LAST_LINE = re.compile(r"^prompts=(\d+) steered=(\d+) median_ratio=(\S+)$")


# ------------------------------------------------------------------ the steered rule
def test_steered_needs_twice_the_mean_and_separate_intervals():
    assert compare([4, 5, 6, 5], [1, 1, 2, 1]).steered  # 5 vs 1.25, intervals apart
    # twice the mean, but the intervals overlap (a noisy prompted agent)
    noisy = compare([0, 10, 0, 10], [1, 2, 1, 2])
    assert noisy.prompted.mean >= 2 * noisy.unprompted.mean and not noisy.steered
    # intervals apart but less than twice the mean
    close = compare([10, 10.1, 9.9, 10], [6, 6.1, 5.9, 6])
    assert close.prompted.low > close.unprompted.high and not close.steered
    assert not compare([0, 0, 0], [0, 0, 0]).steered  # nothing either way


def test_interval_rule_is_strict_and_uses_t_intervals():
    p, u = Interval(4.0, 1.0, 5), Interval(1.0, 2.0, 5)  # 3.0 == 3.0: touching is not "above"
    assert not is_steered(p, u) and is_steered(Interval(4.0, 0.9, 5), u)
    iv = Interval.of([1.0, 2.0, 3.0])
    assert iv.mean == 2.0 and iv.ci95 == pytest.approx(4.303 * 1.0 / math.sqrt(3), rel=1e-4)


def test_ratio_and_summary_line():
    assert ratio(3.0, 1.5) == 2.0 and ratio(2.0, 0.0) == math.inf and ratio(0.0, 0.0) == 1.0
    comps = [compare([4, 5, 6], [1, 1, 1]), compare([1, 1, 1], [1, 1, 1]), compare([3, 3, 3], [0, 0, 0])]
    line = summary_line(comps)
    assert LAST_LINE.match(line) and line == "prompts=3 steered=2 median_ratio=5.00"
    assert summary_line(comps, prefix="visual_").startswith("visual_prompts=3 visual_steered=2")


# ------------------------------------------------------------------ seeds
def test_seed_index_inverts_the_generators_seeds():
    for run_seed in (1, 7):
        for k in (0, 1, 119, 54321):
            assert training_episode_index(episode_seed(run_seed, k), run_seed) == k


def test_benchmark_seeds_are_not_the_training_datas():
    seeds = {s for skill in sb.TARGETS for s, _ in sb.world_seeds(skill, 10)}
    check_held_out(seeds)  # not among the first 100,000 episodes of run seeds 1 and 2
    with pytest.raises(TrainingSeedError, match=r"seeds of the training data \(run seed 1"):
        check_held_out([3, episode_seed(1, 17)])
    with pytest.raises(TrainingSeedError, match=r"seeds of the training data \(run seed 2"):
        check_held_out([episode_seed(2, 119)])


# ------------------------------------------------------------------ jobs and analysis (no world)
def _args(tmp_path, **kw):
    return sb.SteerSettings(out_dir=tmp_path, episodes=3, steps=40, **kw)


def _goal_of(kind, name):
    return 512 if kind == "dim" else np.full((1, 512), hash((kind, name)) % 7, np.float32)


def test_jobs_pair_prompted_and_unprompted_on_each_prompts_seeds(tmp_path):
    args = _args(tmp_path, prompts="chop_tree,dig_dirt,collect_seeds", chain=False)
    jobs = {j.key: j for j in sb.build_jobs(args, _goal_of, {"default:dirt": 64})}
    for skill in ("chop_tree", "dig_dirt"):
        for i, (seed, _) in enumerate(sb.world_seeds(skill, 3)):
            prompted = jobs[f"text/{skill}/{i}"]
            assert prompted.seed == seed == SKILL_WORLD_SEEDS[skill][i]
            assert jobs[f"unprompted/seed{seed}/0"].seed == seed
            # the default guidance is the policy's own (the shipped one's guidance file)
            assert prompted.cond_scale == args.cond_scale == policy_guidance(args.policy, args.weights)[0]
            assert jobs[f"unprompted/seed{seed}/0"].cond_scale == 0.0
    # dig_dirt and collect_seeds share their seeds: their unprompted episodes are run once
    assert sum(k.startswith("unprompted/") for k in jobs) == 6
    assert all(j.start_items == {"default:dirt": 64} and j.n_steps == 40 for j in jobs.values())
    assert not jobs["unprompted/seed6/0"].plan.embeds.any()


def test_more_episodes_than_seeds_cycle_with_their_own_keys():
    pairs = sb.world_seeds("swim", 12)
    assert pairs[10] == (SKILL_WORLD_SEEDS["swim"][0], 1) and len(set(pairs)) == 12


def test_chain_jobs_switch_at_the_switch_step(tmp_path):
    args = _args(tmp_path, prompts="dig_dirt,build_tower", chain=True, switch_step=25)
    chain = {j.key: j for j in sb.build_jobs(args, _goal_of, {})}["chain/dirt_then_tower/0"]
    assert chain.plan.labels == ("dig dirt", "build a tower") and chain.plan.starts == (0, 25)
    assert chain.seed == SKILL_WORLD_SEEDS["build_tower"][0]
    with pytest.raises(ValueError, match="needs both"):
        _args(tmp_path, prompts="build_tower", chain=True)


def test_analysis_of_synthetic_rows(tmp_path):
    args = _args(tmp_path, prompts="look_at_sky,explore")
    rows = {}
    for i, (seed, r) in enumerate(sb.world_seeds("look_at_sky", 3)):
        rows[f"text/look_at_sky/{i}"] = {"sky_steps": 30 + i, "travel_dist": 1.0}
        rows[f"text/explore/{i}"] = {"sky_steps": 0, "travel_dist": 20.0 + i}
        rows[f"unprompted/seed{seed}/{r}"] = {"sky_steps": 2, "travel_dist": 3.0 + i}
    comps = sb.analyse(args, rows, "text")
    sky, explore = comps["look_at_sky"], comps["explore"]
    assert sky.prompted.mean == 31 and sky.unprompted.mean == 2 and sky.others.mean == 0 and sky.steered
    assert explore.prompted.mean == 21 and explore.unprompted.mean == 4 and explore.others.mean == 1
    median = np.median([31 / 2, 21 / 4])
    assert explore.steered
    assert summary_line(list(comps.values())) == f"prompts=2 steered=2 median_ratio={median:.2f}"
    table = "\n".join(sb.table(comps, "text"))
    assert "look at the sky" in table and "31.00 ± 2.48" in table and "yes" in table


# ------------------------------------------------------------------ end to end, real world
@pytest.mark.minetest
@pytest.mark.skipif(minetest_available() is not None, reason=str(minetest_available()))
def test_benchmark_runs_end_to_end_in_minetest(tmp_path, capsys):
    chains = tmp_path / "chains.yaml"
    chains.write_text("sky_then_explore: [[look at the sky, 0], [go explore, 6]]\n")
    argv = ["--policy", "tiny", "--mineclip", "tiny", "--random-weights", "--device", "cpu",
            "--episodes", "1", "--steps", "12", "--prompts", "dig_dirt,build_tower", "--chain",
            "--chain-file", str(chains), "--worlds", "2", "--out", str(tmp_path / "out")]
    assert sb.main(argv) == 0
    out = capsys.readouterr().out.strip().splitlines()
    m = LAST_LINE.match(out[-1])
    assert m and m.group(1) == "2", out[-1]
    assert any(line.startswith("chain dirt_then_tower") for line in out)
    assert any(line.startswith("chain sky_then_explore") for line in out)
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    assert result["summary"] == out[-1] and result["random_weights"] is True
    tower = result["text"]["build a tower"]
    assert tower["prompted"]["n"] == 1 and tower["unprompted"]["n"] == 1
    assert (tmp_path / "out" / "steerability.png").stat().st_size > 0
    rows = [r for r in (tmp_path / "out" / "results.csv").read_text().splitlines()[1:]]
    assert len(rows) == 6  # 2 prompted + 2 chains + unprompted on seeds 6 and 1 (shared by the rest)
    # the start items were given and are not counted as dirt dug
    episode = json.loads((tmp_path / "out" / "episodes" / "text__build_tower__0.json").read_text())["row"]
    assert episode["steps"] == 12 and episode["dirt"] <= 12 and "height_gain" in episode
    # a rerun resumes: nothing left to run, the same last line
    assert sb.main(argv) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == out[-1]
