"""The episode runner (fake worlds): batching over worlds, retries on crashes, videos, metrics, MineCLIP."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.agent import Steve1Agent, load_agent_models
from steve1.eval.video import read_video
from steve1.run.episodes import EpisodeJob, EpisodeRunner, GoalPlan, RunConfig
from tests.agent_fakes import FakeWorld


@pytest.fixture(scope="module")
def models():
    return load_agent_models("tiny", mineclip="tiny", random_weights=True, seed=2)


def _jobs(models, tmp_path, n=3, steps=6, video=True):
    rng = np.random.default_rng(0)
    return [EpisodeJob(key=f"ep{k}", plan=GoalPlan.single(rng.normal(size=(1, models.goal_dim)), f"p{k}"),
                       cond_scale=6.0 + k % 2, n_steps=steps, seed=100 + k, meta={"prompt": f"p{k}"},
                       video_path=tmp_path / f"ep{k}.mp4" if video else None)
            for k in range(n)]


def _run(models, jobs, n_worlds, worlds_log=None, cfg=None, **fake):
    results = {}
    made = []

    def make(slot):
        made.append(slot)
        return FakeWorld(log=worlds_log, **fake)

    agent = Steve1Agent(models.policy, n_worlds=n_worlds, deterministic=True)
    runner = EpisodeRunner(agent, make, cfg or RunConfig(video_fps=20), progress=False,
                           on_done=lambda r: results.__setitem__(r.job.key, r))
    try:
        failures = runner.run(jobs)
    finally:
        runner.close()
    return results, failures, made


def test_batched_worlds_give_the_same_episodes_as_one_world(models, tmp_path):
    one, f1, _ = _run(models, _jobs(models, tmp_path / "a"), n_worlds=1)
    two, f2, made = _run(models, _jobs(models, tmp_path / "b"), n_worlds=2)
    assert not f1 and not f2 and sorted(one) == sorted(two) == ["ep0", "ep1", "ep2"]
    assert made == [0, 1]  # two worlds serve three episodes
    for key in one:
        assert one[key].metrics == two[key].metrics and one[key].steps == two[key].steps == 6
        a, b = read_video(tmp_path / "a" / f"{key}.mp4"), read_video(tmp_path / "b" / f"{key}.mp4")
        assert a.shape == (6, 128, 128, 3) and np.abs(a.astype(int) - b).mean() < 1
    row = one["ep1"].row()
    assert row["episode"] == "ep1" and row["world_seed"] == 101 and row["prompt"] == "p1"
    assert set(row) >= {"log", "dirt", "seed", "travel_dist", "steps", "attempts"}
    assert not list(tmp_path.rglob(".*tmp*"))


def test_a_crashed_world_is_replaced_and_its_episode_rerun(models, tmp_path):
    log = []
    clean, _, _ = _run(models, _jobs(models, tmp_path / "a"), n_worlds=2)
    results, failures, made = _run(models, _jobs(models, tmp_path / "b"), n_worlds=2, worlds_log=log,
                                   crash_at={(101, 4): 1})
    assert not failures and results["ep1"].job.attempts == 1 and results["ep0"].job.attempts == 0
    assert len(made) == 3 and ("crash", 101, 4) in log and log.count(("reset", 101)) == 2
    for key in clean:  # the rerun episode is the same episode (seeded world, fresh agent memory)
        assert clean[key].metrics == results[key].metrics
    assert results["ep1"].steps == 6 and len(read_video(tmp_path / "b" / "ep1.mp4")) == 6


def test_a_world_that_restarted_itself_is_kept_and_the_episode_rerun(models, tmp_path):
    log = []
    results, failures, made = _run(models, _jobs(models, tmp_path, n=1), n_worlds=1, worlds_log=log,
                                   recover_at={(100, 2): 1})
    assert not failures and results["ep0"].job.attempts == 1 and made == [0]
    assert ("recover", 100, 2) in log and ("close", 100) not in log[:-1]


def test_an_episode_that_keeps_crashing_fails_without_leaving_files(models, tmp_path):
    results, failures, _ = _run(models, _jobs(models, tmp_path, n=2), n_worlds=2,
                                cfg=RunConfig(max_retries=2), crash_at={(100, 3): 10})
    assert [k for k, _ in failures] == ["ep0"] and "game died" in failures[0][1]
    assert list(results) == ["ep1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep1.mp4"]


def test_setup_errors_are_not_retried(models, tmp_path):
    def make(slot):
        raise FileNotFoundError("minetest not found; install it")

    runner = EpisodeRunner(Steve1Agent(models.policy), make, progress=False)
    with pytest.raises(FileNotFoundError, match="install"):
        runner.run(_jobs(models, tmp_path, n=1))


def test_goal_plans_switch_prompts_at_their_steps(models, tmp_path):
    g = np.random.default_rng(1).normal(size=(2, models.goal_dim)).astype(np.float32)
    job = EpisodeJob("chain", GoalPlan(g, (0, 4), ("first", "second")), 6.0, 7, seed=1)
    results, _, _ = _run(models, [job], n_worlds=1)
    # frame t is recorded after step t (0-based), so the goal of step t labels it
    assert results["chain"].prompts == ["first"] * 4 + ["second"] * 3
    with pytest.raises(ValueError, match="begin at 0"):
        GoalPlan(g, (1, 4), ("a", "b"))


def test_mineclip_window_embeddings_of_the_episode(models, tmp_path):
    job = _jobs(models, tmp_path, n=1, steps=20, video=False)[0]
    results, _, _ = _run(models, [job], n_worlds=1, cfg=RunConfig(embedder=models.embedder))
    world = FakeWorld()
    world.reset(seed=job.seed)
    frames = []
    for _ in range(20):  # the fake world's frames do not depend on the actions
        frames.append(world.step({"forward": 0, "attack": 0})[0]["pov"])
    want = models.embedder.embed_windows(np.stack(frames))
    assert results["ep0"].window_embeds.shape == (5, models.goal_dim)
    np.testing.assert_allclose(results["ep0"].window_embeds, want, rtol=1e-4, atol=1e-5)
