"""One config mechanism for every verb: a typed settings dataclass -> its `--help`, its YAML file, its API.

A verb declares its settings as a dataclass whose every field has a docstring (the string literal on the
line after the field), and a `run(settings) -> int`. Then

    def main(argv=None) -> int:
        return run_verb(GenerateSettings, run, argv, verb="gen-mixed-agents")

gives `steve1 gen-mixed-agents --help` (usage `steve1 gen-mixed-agents`, one help line per field), flags
in one style (`--num-episodes`; the underscore spelling `--num_episodes` is accepted too, so the original
scripts' option names keep working; other original names are given per field with
`field(alias=["--out-dir"])`, written with dashes), `--config FILE.yaml` (or a named config shipped in
the package, see `settings_from_yaml`) whose values become the defaults that flags then override, and
one-line errors with exit status 2 for every user mistake (a bad flag value, a failed check in the
dataclass's `__post_init__`, a missing input file).

The library behind it is simple-parsing: it is argparse underneath (so the usage line, `--help` and exit
status 2 behave as every Python CLI does), reads field docstrings as help and takes per-field aliases.

From Python the same settings are plain dataclasses: `run(GenerateSettings(num_episodes=3))`.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import sys
import typing
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TypeVar

import yaml
from simple_parsing import ArgumentParser, DashVariant
from simple_parsing import field as settings_field  # noqa: F401 - re-exported: field(alias=[...])

from steve1.cli import say

log = logging.getLogger("steve1")

S = TypeVar("S")
CONFIG_FLAG = "--config"
PACKAGED_CONFIGS = "steve1.configs"  # named configs: steve1/configs/<prefix>_<name>.yaml
EXIT_USAGE = 2  # a user mistake: bad argument, missing input, failed check
EXIT_NOTHING_PRODUCED = 1  # the verb ran, but no input gave an output
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT
TRACEBACK_ENV = "STEVE1_TRACEBACK"  # set to 1 to see the traceback of a user error instead of one line


class UsageError(ValueError):
    """A mistake of the user's (a bad value, a missing input): reported as one line, exit status 2."""


class NothingProduced(RuntimeError):
    """The verb ran but every input failed (all videos unreadable, every episode corrupt): reported as one
    line, exit status 1."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a user can cause with bad settings or files (never a traceback). The project's own
    errors derive from these: EpisodeError, GoalError, PriorDataError, ... are ValueErrors;
    MissingWeightsError and DownloadError are OSErrors."""
    return (ValueError, OSError, ImportError, pickle.UnpicklingError, EOFError)


class _OneLineErrors(ArgumentParser):
    """argparse's errors as one line (`steve1 VERB: error: ...`) plus a pointer to --help, exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _dashed(argv: Sequence[str]) -> list[str]:
    """`--num_episodes 3` -> `--num-episodes 3`: the underscore spelling of every flag is accepted."""
    out = []
    for arg in argv:
        if arg.startswith("--") and "_" in arg.split("=", 1)[0]:
            name, eq, value = arg.partition("=")
            arg = name.replace("_", "-") + eq + value
        out.append(arg)
    return out


def _config_source(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """Take `--config X` / `--config=X` out of argv."""
    rest, source, args = [], None, list(argv)
    while args:
        arg = args.pop(0)
        if arg == CONFIG_FLAG:
            if not args:
                raise UsageError(f"{CONFIG_FLAG} needs a YAML file or a config name")
            source = args.pop(0)
        elif arg.startswith(CONFIG_FLAG + "="):
            source = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return source, rest


def packaged_config(prefix: str, name: str) -> Path:
    """The path of a named config shipped in the package: steve1/configs/<prefix>_<name>.yaml."""
    return Path(str(resources.files(PACKAGED_CONFIGS) / f"{prefix}_{name}.yaml"))


def packaged_config_names(prefix: str) -> list[str]:
    root = resources.files(PACKAGED_CONFIGS)
    return sorted(p.name[len(prefix) + 1:-5] for p in root.iterdir()
                  if p.name.startswith(prefix + "_") and p.name.endswith(".yaml"))


def settings_from_yaml(cls: type[S], source: str | Path, prefix: str | None = None, **overrides) -> S:
    """Settings from a YAML file (or, with `prefix`, a config name shipped in the package); `overrides`
    win. Unknown keys and values of the wrong type are UsageErrors that name them."""
    path = Path(source)
    if prefix is not None and not path.suffix:
        path = packaged_config(prefix, str(source))
        if not path.is_file():
            names = ", ".join(packaged_config_names(prefix))
            raise UsageError(f"no config named {source!r}; give one of: {names}, or a .yaml file")
    if not path.is_file():
        raise UsageError(f"config file {path} not found")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"config file {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(values, dict):
        raise UsageError(f"config file {path} must hold a mapping of setting: value")
    values.update(overrides)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"unknown settings in {path}: {', '.join(unknown)} (known: {', '.join(known)})")
    hints = typing.get_type_hints(cls)
    return cls(**{k: _typed(k, hints[k], v, path) for k, v in values.items()})


def _typed(name: str, hint, value, path: Path):
    """A YAML value checked against the field's declared type (YAML reads `1e-4` as a string)."""
    args = typing.get_args(hint)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        raise UsageError(f"{path}: {name} may not be empty")
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    base = getattr(base, "__name__", str(base))
    try:
        if base == "bool":
            if not isinstance(value, bool):
                raise ValueError
            return value
        if base == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(float(value)) if isinstance(value, str) else int(value)
        if base == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base == "str":
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise UsageError(f"{path}: {name}={value!r} is not a valid {base}") from None
    return value


def build_parser(cls: type, verb: str, description: str | None = None, default=None) -> ArgumentParser:
    parser = _OneLineErrors(prog=f"steve1 {verb}", description=description or (cls.__doc__ or "").strip(),
                            add_option_string_dash_variants=DashVariant.DASH)
    parser.add_argument(CONFIG_FLAG, metavar="YAML", default=None,
                        help="a YAML file of settings (or a shipped config name) used as the defaults")
    parser.add_arguments(cls, dest="settings", default=default)
    if hasattr(parser, "_preprocessing"):  # simple-parsing adds the fields' flags lazily
        parser._preprocessing()
    for action in parser._actions:  # an optional setting (`X | None`) is switched off with `none`
        if action.nargs == "?" and callable(action.type):
            action.type = _none_or(action.type)
    return parser


NONE_WORDS = ("none", "null")


def _none_or(convert):
    def parse(text: str):
        return None if text.strip().lower() in NONE_WORDS else convert(text)

    parse.__name__ = getattr(convert, "__name__", "value")  # argparse names the type in its errors
    return parse


def parse_settings(cls: type[S], argv: Sequence[str] | None, verb: str, *, config_prefix: str | None = None,
                   description: str | None = None) -> S:
    """argv -> a settings instance (raises UsageError; argparse itself exits 2 on a malformed flag)."""
    source, rest = _config_source(_dashed(sys.argv[1:] if argv is None else argv))
    default = settings_from_yaml(cls, source, config_prefix) if source is not None else None
    parser = build_parser(cls, verb, description, default)
    try:
        return parser.parse_args(rest).settings
    except UsageError:
        raise
    except (ValueError, TypeError) as err:  # a check in __post_init__, or a value simple-parsing rejected
        raise UsageError(str(err)) from None


def report_error(verb: str, err: BaseException) -> int:
    """Print a user mistake as one line; the exit status for it."""
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    message = " ".join(lines) if lines else type(err).__name__  # a multi-line message, joined into one
    say(f"steve1 {verb}: error: {message}", error=True)
    return EXIT_USAGE


def run_verb(cls: type[S], run: Callable[[S], int | None], argv: Sequence[str] | None, verb: str, *,
             config_prefix: str | None = None, description: str | None = None) -> int:
    """A verb's `main`: parse its settings, run it, and turn user mistakes and Ctrl-C into exit statuses."""
    errors = user_errors()
    try:
        try:
            settings = parse_settings(cls, argv, verb, config_prefix=config_prefix, description=description)
        except SystemExit as done:  # --help (0) or a malformed flag (2, message printed)
            return int(done.code or 0)
        return int(run(settings) or 0)
    except NothingProduced as err:
        report_error(verb, err)
        return EXIT_NOTHING_PRODUCED
    except errors as err:
        if os.environ.get(TRACEBACK_ENV):
            raise
        return report_error(verb, err)
    except KeyboardInterrupt:
        say(f"steve1 {verb}: interrupted", error=True)
        return EXIT_INTERRUPTED


def check(condition: bool, message: str) -> None:
    """Raise a UsageError with `message` unless `condition` (for __post_init__ checks)."""
    if not condition:
        raise UsageError(message)


def report(message: str) -> None:
    """A verb's final one-line report on stdout (everything else a verb says goes through logging)."""
    say(message)
