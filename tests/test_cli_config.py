"""The one config mechanism: settings dataclass -> flags, --help, YAML defaults, one-line errors."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from steve1.cli_config import (
    EXIT_USAGE,
    UsageError,
    check,
    parse_settings,
    run_verb,
    settings_from_yaml,
)
from steve1.cli_config import settings_field as field


@dataclass
class DemoSettings:
    """Demo verb."""

    output_dir: str = field(default="out", alias=["--out-dir"])
    """where results go"""
    num_episodes: int = 5
    """how many episodes"""
    seed: int | None = None
    """seed (default: random)"""
    rate: float = 0.5
    """a rate"""
    fast: bool = False
    """fast settings"""

    def __post_init__(self):
        check(self.num_episodes >= 1, f"--num-episodes must be >= 1, got {self.num_episodes}")


def test_flags_in_both_spellings_and_aliases():
    argv = ["--num_episodes", "3", "--out_dir", "x", "--rate=0.25", "--fast"]
    s = parse_settings(DemoSettings, argv, "demo")
    assert (s.num_episodes, s.output_dir, s.rate, s.fast, s.seed) == (3, "x", 0.25, True, None)
    s = parse_settings(DemoSettings, ["--num-episodes=4", "--output-dir", "y", "--seed", "7"], "demo")
    assert (s.num_episodes, s.output_dir, s.seed) == (4, "y", 7)


def test_help_names_the_verb_and_every_field(capsys):
    with pytest.raises(SystemExit) as exc:
        parse_settings(DemoSettings, ["--help"], "demo")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: steve1 demo")
    for text in ("where results go", "how many episodes", "a rate", "fast settings", "--config"):
        assert text in out


def test_yaml_defaults_then_flags_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("num_episodes: 7\nrate: 1e-3\nfast: true\n")
    s = parse_settings(DemoSettings, ["--config", str(path), "--rate", "0.5"], "demo")
    assert (s.num_episodes, s.rate, s.fast) == (7, 0.5, True)
    assert settings_from_yaml(DemoSettings, path).rate == pytest.approx(1e-3)


@pytest.mark.parametrize("text, words", [
    ("num_episodes: abc\n", "num_episodes='abc' is not a valid int"),
    ("bogus: 1\n", "unknown settings"),
    ("fast: 3\n", "not a valid bool"),
    ("[1, 2]\n", "mapping"),
    ("num_episodes: 0\n", "must be >= 1"),
])
def test_bad_yaml_is_one_line_exit_2(tmp_path, capsys, text, words):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    code = run_verb(DemoSettings, lambda s: 0, ["--config", str(path)], "demo")
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert words in err and len(err.strip().splitlines()) == 1 and err.startswith("steve1 demo: error:")


@pytest.mark.parametrize("argv", [["--num-episodes", "0"], ["--num-episodes", "x"], ["--bogus"],
                                  ["--config", "/nonexistent.yaml"]])
def test_bad_flags_are_one_line_exit_2(capsys, argv):
    assert run_verb(DemoSettings, lambda s: 0, argv, "demo") == EXIT_USAGE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_run_errors_are_one_line_and_interrupt_is_130(capsys):
    def missing(_s):
        raise FileNotFoundError("data.pkl not found; run the labelling stage first")

    def interrupted(_s):
        raise KeyboardInterrupt

    assert run_verb(DemoSettings, missing, [], "demo") == EXIT_USAGE
    assert "data.pkl not found" in capsys.readouterr().err
    assert run_verb(DemoSettings, interrupted, [], "demo") == 130
    with pytest.raises(UsageError):
        DemoSettings(num_episodes=-1)

