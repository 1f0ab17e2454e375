"""Programmatic metrics on scripted episodes equal hand-computed values."""
import numpy as np
import pytest

from steve1.eval.metrics import ProgrammaticMetrics, episode_metrics


def obs(x=0.0, z=0.0, y=64.0, **inventory):
    location = {"xpos": np.float64(x), "ypos": y, "zpos": np.float64(z)}
    return {"inventory": inventory, "location_stats": location}


def test_scripted_episode():
    reset = obs(10, 20, dirt=5)  # reset inventory is not counted (as the original)
    steps = [
        obs(10, 20, oak_log=1, dirt=0),
        obs(13, 24, oak_log=2, birch_log=1, stripped_spruce_log=1, coarse_dirt=2, dirt=1),  # dist 5
        obs(10, 21, oak_log=0, wheat_seeds=np.int64(3), pumpkin_seeds=1, dirt=1),  # dist 1; logs dropped
        obs(4, 12, y=10, oak_planks=8, dirt=0),  # dist 10 (y ignored)
    ]
    r = episode_metrics(reset, steps)
    assert r == {"log": 4.0, "dirt": 3.0, "seed": 4.0, "travel_dist": 10.0}


def test_before_any_step_everything_is_zero():
    m = ProgrammaticMetrics(obs(1, 1, oak_log=7))
    assert m.results() == [{"log": 0.0, "dirt": 0.0, "seed": 0.0, "travel_dist": 0.0}]
    assert m.format_results().startswith("Programmatic Evaluation Results:\nlog: 0.0\n")


def test_batch_of_worlds_matches_single_world_runs():
    rng = np.random.default_rng(0)
    items = ["oak_log", "dark_oak_log", "dirt", "coarse_dirt", "wheat_seeds", "stone", "log_thing"]
    n_worlds, n_steps = 3, 30
    resets = [obs(*rng.normal(size=2) * 5) for _ in range(n_worlds)]
    episodes = [[obs(*rng.normal(size=2) * 20, **{k: int(rng.integers(0, 5)) for k in items})
                 for _ in range(n_steps)] for _ in range(n_worlds)]
    batch = ProgrammaticMetrics(resets)
    for t in range(n_steps):
        batch.update([episodes[w][t] for w in range(n_worlds)])
    for w in range(n_worlds):
        single = episode_metrics(resets[w], episodes[w])
        # brute force
        sums = {k: max(sum(v for it, v in o["inventory"].items() if f in it) for o in episodes[w])
                for k, f in (("log", "_log"), ("dirt", "dirt"), ("seed", "seed"))}
        x0, z0 = resets[w]["location_stats"]["xpos"], resets[w]["location_stats"]["zpos"]
        sums["travel_dist"] = max(np.hypot(o["location_stats"]["xpos"] - x0, o["location_stats"]["zpos"] - z0)
                                  for o in episodes[w])
        assert batch.results()[w] == pytest.approx(single)
        assert single == pytest.approx(sums)


def test_active_mask_freezes_finished_worlds():
    m = ProgrammaticMetrics([obs(), obs()])
    m.update([obs(dirt=1), obs(dirt=1)])
    m.update([obs(3, 4, dirt=9), obs(3, 4, dirt=9)], active=[True, False])
    assert m.values["dirt"].tolist() == [9.0, 1.0]
    assert m.values["travel_dist"].tolist() == [5.0, 0.0]


def test_bad_observations_give_clear_errors():
    with pytest.raises(KeyError, match="location_stats xpos/zpos"):
        ProgrammaticMetrics({"inventory": {}})
    m = ProgrammaticMetrics([obs(), obs()])
    with pytest.raises(ValueError, match="2 worlds"):
        m.update(obs())
    with pytest.raises(KeyError, match="'inventory'"):
        m.update([obs(), {"location_stats": {"xpos": 0, "zpos": 0}}])
    with pytest.raises(ValueError, match="empty"):
        ProgrammaticMetrics([])


def test_count_from_start_subtracts_the_start_inventory():
    m = ProgrammaticMetrics(obs(dirt=64, oak_log=1), count_from_start=True)
    m.update(obs(dirt=60, oak_log=1))  # 4 dirt placed: nothing gained
    assert m.results()[0]["dirt"] == 0.0 and m.results()[0]["log"] == 0.0
    m.update(obs(dirt=66, oak_log=3, wheat_seeds=2))
    assert m.results()[0] == {"log": 2.0, "dirt": 2.0, "seed": 2.0, "travel_dist": 0.0}
    plain = ProgrammaticMetrics(obs(dirt=64))
    plain.update(obs(dirt=64))
    assert plain.results()[0]["dirt"] == 64.0  # the original's count


def test_world_metrics_count_sky_water_and_height():
    from steve1.eval.metrics import WorldMetrics

    def look(pitch, y=64.0, **extra):
        o = obs(y=y)
        o["location_stats"]["pitch"] = pitch
        return {**o, **extra}

    m = WorldMetrics(look(0.0))
    m.update(look(-59.9), {"in_water": True})
    m.update(look(-60.0, y=66.5), {"in_water": False})
    m.update(look(-89.0, y=65.0), None)
    m.update(look(10.0, y=60.0, is_in_water=True), {})  # a world that puts water in the observation
    assert m.results() == {"sky_steps": 2.0, "water_steps": 2.0, "height_gain": 2.5}
