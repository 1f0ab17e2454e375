"""The stage runner: folders, done markers, resume (skips finished stages), --from-stage, failures."""
from __future__ import annotations

import json

import pytest

from steve1.quickstart.runner import DONE_FILE, Stage, run_stages


def _stages(calls: list, fail: str | None = None):
    def make(name):
        def run(ctx):
            calls.append(name)
            if name == fail:
                (ctx.dir / "half_written.txt").write_text("x")
                raise RuntimeError(f"{name} failed")
            prev = {k: v.get("value") for k, v in ctx.results.items()}
            (ctx.dir / "out.txt").write_text(name)
            return {"outputs": [str(ctx.dir / "out.txt")], "value": len(prev)}
        return run
    return [Stage("a", make("a")), Stage("b", make("b"), keeps_partial=True), Stage("c", make("c"))]


def test_runs_in_order_into_numbered_folders(tmp_path):
    calls: list = []
    records = run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    assert calls == ["a", "b", "c"]
    assert [r.dir.name for r in records] == ["01_a", "02_b", "03_c"]
    done = json.loads((tmp_path / "03_c" / DONE_FILE).read_text())
    assert done["stage"] == "c" and done["value"] == 2 and done["seconds"] >= 0
    assert (tmp_path / "02_b" / "out.txt").read_text() == "b"


def test_rerun_skips_finished_stages(tmp_path):
    calls: list = []
    run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    calls.clear()
    records = run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    assert calls == [] and all(r.skipped for r in records)


def test_resume_after_a_failure_reruns_from_the_failed_stage(tmp_path):
    calls: list = []
    with pytest.raises(RuntimeError, match="b failed"):
        run_stages(_stages(calls, fail="b"), tmp_path, None, log=lambda m: None)
    assert calls == ["a", "b"] and not (tmp_path / "02_b" / DONE_FILE).exists()
    calls.clear()
    records = run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    assert calls == ["b", "c"] and [r.skipped for r in records] == [True, False, False]
    assert (tmp_path / "02_b" / "half_written.txt").exists()  # keeps_partial: left for the stage to resume


def test_a_failed_stage_without_keeps_partial_starts_from_an_empty_folder(tmp_path):
    calls: list = []
    with pytest.raises(RuntimeError):
        run_stages(_stages(calls, fail="c"), tmp_path, None, log=lambda m: None)
    assert (tmp_path / "03_c" / "half_written.txt").exists()
    run_stages(_stages([]), tmp_path, None, log=lambda m: None)
    assert not (tmp_path / "03_c" / "half_written.txt").exists()


def test_from_stage_reruns_it_and_every_later_stage(tmp_path):
    calls: list = []
    run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    calls.clear()
    run_stages(_stages(calls), tmp_path, None, from_stage="b", log=lambda m: None)
    assert calls == ["b", "c"]
    with pytest.raises(ValueError, match="unknown stage 'z'"):
        run_stages(_stages(calls), tmp_path, None, from_stage="z")


def test_a_missing_marker_in_the_middle_reruns_the_later_stages(tmp_path):
    calls: list = []
    run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    (tmp_path / "02_b" / DONE_FILE).unlink()
    calls.clear()
    run_stages(_stages(calls), tmp_path, None, log=lambda m: None)
    assert calls == ["b", "c"]


def test_cli_refuses_an_output_folder_made_with_other_settings(tmp_path, capsys):
    from steve1.quickstart.run import main

    out = tmp_path / "qs"
    out.mkdir()
    (out / "settings.json").write_text(json.dumps({"scale": "quick", "prompt": "dig dirt"}))
    assert main(["--scale", "ci", "--out", str(out)]) == 2
    assert "made with other settings" in capsys.readouterr().err
    assert not any(p.name.endswith("_generate") for p in out.iterdir())


def test_cli_refuses_an_empty_prompt(tmp_path, capsys):
    from steve1.quickstart.run import main

    assert main(["--scale", "ci", "--out", str(tmp_path / "qs"), "--prompt", "  "]) == 2
    assert "prompt is empty" in capsys.readouterr().err


def test_scales_fit_one_training_sequence_per_episode():
    from steve1.data.episode import min_frames_for_training
    from steve1.quickstart.settings import SCALES

    for s in SCALES.values():
        assert s.episode_steps >= min_frames_for_training(s.T, s.min_btwn_goals)
        assert s.T % s.trunc_t == 0 and s.episodes >= 2


def test_a_new_prompt_reruns_only_the_agent_stages(tmp_path):
    import dataclasses

    from steve1.quickstart.run import _check_settings
    from steve1.quickstart.runner import stage_dir
    from steve1.quickstart.settings import get_settings
    from steve1.quickstart.stages import STAGE_NAMES

    ci = get_settings("ci")
    assert _check_settings(tmp_path, ci, None) is None
    for i, name in enumerate(STAGE_NAMES):
        stage_dir(tmp_path, i, name).mkdir()
        (stage_dir(tmp_path, i, name) / "done.json").write_text("{}")
    assert _check_settings(tmp_path, ci, None) is None  # same settings: nothing to rerun
    assert _check_settings(tmp_path, dataclasses.replace(ci, prompt="dig dirt"), None) is None
    done = {n: (stage_dir(tmp_path, i, n) / "done.json").exists() for i, n in enumerate(STAGE_NAMES)}
    assert {n for n, d in done.items() if not d} == {"shipped", "agent", "report"}
    assert json.loads((tmp_path / "settings.json").read_text())["prompt"] == "dig dirt"
    assert _check_settings(tmp_path, dataclasses.replace(ci, prompt="x"), "train") == "train"


def test_a_stage_that_feeds_nothing_later_reruns_alone(tmp_path):
    calls: list = []
    stages = _stages(calls)
    stages[0] = Stage("a", stages[0].run, feeds_later=False)
    run_stages(stages, tmp_path, None, log=lambda m: None)
    (tmp_path / "01_a" / DONE_FILE).unlink()
    calls.clear()
    run_stages(stages, tmp_path, None, log=lambda m: None)
    assert calls == ["a"]
