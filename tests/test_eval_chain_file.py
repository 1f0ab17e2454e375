"""Prompt chains from a YAML/JSON file: what parses, and one-line errors for what does not."""
from __future__ import annotations

import json

import pytest

from steve1.eval.chaining import ChainFileError, load_chain_file
from steve1.run import evaluate
from tests.agent_fakes import TINY_RUN_ARGS


def test_yaml_and_json_chain_files(tmp_path):
    yaml_file = tmp_path / "chains.yaml"
    yaml_file.write_text("dirt_then_tower: [[dig dirt, 0], [build a tower, 300]]\n"
                         "wood_then_explore:\n  - {prompt: chop a tree, start: 0}\n"
                         "  - {prompt: go explore, start: 400}\n  - {prompt: go swimming, start: 700}\n")
    chains = load_chain_file(yaml_file)
    assert chains["dirt_then_tower"].prompts == ("dig dirt", "build a tower")
    assert chains["dirt_then_tower"].starts == (0, 300)
    assert chains["wood_then_explore"].prompt_at(699) == "go explore"
    json_file = tmp_path / "chains.json"
    json_file.write_text(json.dumps({"a": [["look at the sky", 0], ["go explore", 10]]}))
    assert load_chain_file(json_file)["a"].starts == (0, 10)


@pytest.mark.parametrize("text, match", [
    ("", "expected a mapping"),
    ("[1, 2]", "expected a mapping"),
    ("a: [[dig, 0], [tower\n", "not valid YAML"),
    ("a: dig dirt", "must be a list"),
    ("a: [[dig dirt, 5]]", "chain 'a': the first prompt must start at step 0"),
    ("a: [[dig dirt, 0], [build, 0]]", "strictly increase"),
    ("a: [[dig dirt, 0], [build, -3]]", ">= 0"),
    ("a: [[dig dirt, 0], [build, 2.5]]", ">= 0"),
    ("a: [[dig dirt, 0, 4]]", "must be \\(prompt, start_step\\)"),
    ("a: [{prompt: dig dirt, begin: 0}]", "exactly the keys prompt and start"),
    ("a: [[' ', 0]]", "empty"),
    ("a: []", "at least one"),
    ("'bad name!': [[dig, 0]]", "chain name"),
    ("build_tower: [[dig, 0]]", "built-in"),
])
def test_bad_chain_files_are_one_line_errors(tmp_path, text, match):
    path = tmp_path / "chains.yaml"
    path.write_text(text)
    with pytest.raises(ChainFileError, match=match) as err:
        load_chain_file(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_and_bad_json_files(tmp_path):
    with pytest.raises(ChainFileError, match="cannot be read"):
        load_chain_file(tmp_path / "nope.yaml")
    bad = tmp_path / "c.json"
    bad.write_text("{'a': 1}")
    with pytest.raises(ChainFileError, match="not valid JSON") as err:
        load_chain_file(bad)
    assert "\n" not in str(err.value)


def test_evaluate_refuses_a_bad_chain_file_in_one_line_before_loading_models(tmp_path, capsys):
    path = tmp_path / "chains.yaml"
    path.write_text("a: [[dig dirt, 3]]\n")
    code = evaluate.main([*TINY_RUN_ARGS, "--chain-file", str(path), "--out-dir", str(tmp_path / "out"),
                          "--episodes", "1", "--steps", "5"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "first prompt must start at step 0" in err


def test_evaluate_runs_a_chain_from_a_file(tmp_path, monkeypatch):
    from tests.agent_fakes import use_fake_worlds

    use_fake_worlds(monkeypatch)
    path = tmp_path / "chains.json"
    path.write_text(json.dumps({"mine": [["dig dirt", 0], ["go explore", 3]]}))
    out = tmp_path / "out"
    code = evaluate.main([*TINY_RUN_ARGS, "--chain-file", str(path), "--prompts", "dirt",
                          "--out-dir", str(out), "--episodes", "1", "--steps", "6", "--no-mineclip-eval",
                          "--world", "minetest"])
    assert code == 0
    record = json.loads((out / "episodes" / "chain__mine__0.json").read_text())
    assert record["prompts"] == ["dig dirt", "go explore"] and record["starts"] == [0, 3]
    assert record["row"]["steps"] == 6 and "sky_steps" in record["row"]
