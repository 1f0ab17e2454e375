"""Ray for the data verbs (steve1.cluster) on a local Ray of 2 CPUs: conversion through Ray writes the same
files as the local path, a worker killed mid-episode is retried with nothing lost or duplicated, a rerun
resumes; without --ray no verb imports Ray."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.ray_scaling import folder_files, synthetic_release
from steve1.cluster.runtime import LOCAL, RAY_ENV, ray_address
from steve1.data.convert_contractor import ConvertSettings, convert_contractor
from steve1.data.embedding import fake_embed_fn
from steve1.data.episode import PARTIAL_PREFIX, list_episode_dirs

ROOT = Path(__file__).parents[1]
VERB_MODULES = ("steve1.data.convert_contractor", "steve1.data.gen_mixed_agents", "steve1.data.reembed",
                "steve1.idm.label", "steve1.run.evaluate", "steve1.cli")
EPISODES, STEPS = 3, 60


def test_the_verbs_do_not_import_ray():
    code = (f"import sys\nfor m in {VERB_MODULES!r}: __import__(m)\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    env = {k: v for k, v in os.environ.items() if k != RAY_ENV}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_ray_option_and_environment(monkeypatch):
    monkeypatch.delenv(RAY_ENV, raising=False)
    assert ray_address(None) is None
    assert ray_address(LOCAL) == LOCAL and ray_address("10.0.0.1:6379") == "10.0.0.1:6379"
    monkeypatch.setenv(RAY_ENV, "head:6379")
    assert ray_address(None) == "head:6379"
    monkeypatch.setenv(RAY_ENV, "0")
    assert ray_address(None) is None
    from steve1.cli_config import parse_settings

    parse = lambda *argv: parse_settings(ConvertSettings, list(argv), "convert-contractor").ray  # noqa: E731
    assert parse() is None and parse("--ray") == LOCAL and parse("--ray", "head:6379") == "head:6379"
    assert parse("--ray", "--no-progress") == LOCAL


def test_the_runners_world_factory_routes_to_world_actors_only_with_ray(monkeypatch):
    """evaluate / run-agent / paper-videos: --ray gives worlds in Ray actors (steve1.cluster.worlds, driven
    as in test_cluster_minetest), no --ray the local worlds."""
    import steve1.cluster.worlds as worlds
    from steve1.run import common
    from steve1.run.evaluate import EvaluateSettings

    monkeypatch.delenv(RAY_ENV, raising=False)
    calls = []
    monkeypatch.setattr(worlds, "remote_world_factory",
                        lambda name, **kw: calls.append((name, kw)) or "remote")
    monkeypatch.setattr(common, "make_world", lambda name, **kw: f"local {name} {kw}")
    assert common.world_factory(EvaluateSettings(world="minetest"))(0) == "local minetest {}" and calls == []
    assert common.world_factory(EvaluateSettings(world="minetest", ray="head:6379")) == "remote"
    assert calls == [("minetest", {"kwargs": None, "ray_option": "head:6379"})]
    assert common.world_factory(EvaluateSettings(world="minetest", ray="head:6379", fast=True)) == "remote"
    assert calls[-1] == ("minetest", {"kwargs": {"fast": True}, "ray_option": "head:6379"})
    monkeypatch.setenv(RAY_ENV, LOCAL)
    assert common.world_factory(EvaluateSettings(world="minetest")) == "remote"


# ------------------------------------------------------------------------------------------ on a local Ray


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """Synthetic contractor episodes and their local conversion (the reference)."""
    root = tmp_path_factory.mktemp("release")
    url = synthetic_release(root / "srv", EPISODES, STEPS)
    stats = convert_contractor("10.x", root / "local", root / "cache", fake_embed_fn, num_episodes=EPISODES,
                               min_timesteps=1, index_url=url, progress=False)
    assert stats.converted == EPISODES
    return url, root / "local", stats.frames


def _settings(url: str, out: Path, **kw) -> ConvertSettings:
    return ConvertSettings(index="10.x", index_url=url, output_dir=str(out), cache_dir=str(out) + "_cache",
                           num_episodes=EPISODES, min_timesteps=1, mineclip_config="fake", device="cpu",
                           ray=LOCAL, no_progress=True, **kw)


def test_conversion_on_ray_writes_the_local_files_and_resumes(local_ray, release, tmp_path, capsys):
    from steve1.data.convert_contractor import run

    url, local, frames = release
    out = tmp_path / "ray"
    assert run(_settings(url, out)) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["converted"] == EPISODES and report["frames"] == frames
    assert folder_files(out) == folder_files(local)  # every file byte for byte: frames, actions, embeds, ...
    assert run(_settings(url, out)) == 0  # a rerun resumes: nothing to do
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["converted"] == 0 and report["already_done"] == EPISODES


def test_a_worker_killed_mid_episode_is_retried_nothing_lost_or_duplicated(local_ray, release, tmp_path):
    from steve1.cluster.convert import convert_on_ray, convert_task
    from steve1.data.convert_contractor import convert_episode

    url, local, _ = release
    out, marks = tmp_path / "ray", tmp_path / "marks"
    marks.mkdir()

    def dies_once(idx, index, args):
        """Episode 1's first try: its worker is SIGKILLed while the episode is being written."""
        if idx == 1 and not (marks / "killed").exists():
            def embed_then_die(frames):
                (marks / "killed").write_text(str(os.getpid()))
                os.kill(os.getpid(), signal.SIGKILL)

            convert_episode(index, idx, Path(args.output_dir), Path(args.cache_dir), embed_then_die, 1)
        (marks / f"done_{idx}_{os.getpid()}").write_text("")
        return convert_task(idx, index, args)

    stats = convert_on_ray(_settings(url, out), task=dies_once)
    assert (marks / "killed").exists(), "the worker was never killed"
    assert stats.converted == EPISODES and stats.download_failed == 0
    assert sorted(p.name.split("_")[1] for p in marks.glob("done_*")) == ["0", "1", "2"]  # one finish each
    assert [p.name for p in out.iterdir() if p.name.startswith(PARTIAL_PREFIX)] == []
    assert len(list_episode_dirs(out)) == EPISODES
    assert folder_files(out) == folder_files(local)


def _write_video(path: Path, n: int, seed: int) -> None:
    import cv2
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    base = np.random.default_rng(seed).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20, (40, 30))
    for i in range(n):
        writer.write(np.roll(base, shift=(2 * i, 3 * i), axis=(0, 1)))
    writer.release()


def test_labelling_on_ray_writes_the_local_episodes(local_ray, tmp_path, capsys):
    from steve1.idm.label import main

    videos = tmp_path / "videos"
    for k, n in enumerate((40, 24)):
        _write_video(videos / f"play{k}.mp4", n, seed=k)
    (videos / "broken.mp4").write_bytes(b"\x00not a video" * 50)

    def label(out: Path, *extra: str) -> dict:
        argv = ["--video-dir", str(videos), "--output-dir", str(out), "--idm-model", "tiny", "--idm-weights",
                "random", "--mineclip", "fake", "--device", "cpu", "--window", "16", "--stride", "8",
                "--threads", "1", "--no-progress", *extra]
        assert main(argv) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    local, on_ray = label(tmp_path / "local"), label(tmp_path / "ray", "--ray")
    assert (on_ray["labelled"], on_ray["failed"], on_ray["frames"]) == (local["labelled"], local["failed"],
                                                                        local["frames"]) == (2, 1, 64)
    assert folder_files(tmp_path / "ray") == folder_files(tmp_path / "local")  # IDM actions included
    assert label(tmp_path / "ray", "--ray")["already_done"] == 2  # a rerun resumes


def test_embedding_on_ray_matches_the_local_path(local_ray, tmp_path):
    import shutil

    import numpy as np

    from steve1.data.episode import Episode, EpisodeWriter
    from steve1.data.reembed import EmbedSettings, read_record, reembed

    rng = np.random.default_rng(0)
    for name in ("e1", "e2", "e3"):
        writer = EpisodeWriter(tmp_path / "local")
        for _ in range(20):
            writer.append(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8), {"camera": np.zeros(2)}, None)
        writer.finish(name, {"seed": 0})
    shutil.copytree(tmp_path / "local", tmp_path / "ray")
    settings = lambda folder, **kw: EmbedSettings(episodes=str(tmp_path / folder), mineclip="tiny",  # noqa
                                                  device="cpu", batch_size=8, **kw)
    local, on_ray = reembed(settings("local")), reembed(settings("ray", ray=LOCAL))
    assert (on_ray["embedded"], on_ray["frames"]) == (local["embedded"], local["frames"]) == (3, 60)
    for name in ("e1", "e2", "e3"):
        a, b = Episode(tmp_path / "local" / name).embeds(), Episode(tmp_path / "ray" / name).embeds()
        assert a[:15] == b[:15] == [None] * 15
        np.testing.assert_allclose(np.concatenate(b[15:]), np.concatenate(a[15:]), rtol=1e-5, atol=1e-6)
        assert read_record(tmp_path / "ray" / name) == read_record(tmp_path / "local" / name)
    assert reembed(settings("ray", ray=LOCAL))["embedded"] == 0  # a rerun resumes
