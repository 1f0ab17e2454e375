"""What every verb's `main(argv)` shares: one-line errors with exit status 2, argument checks, output checks.

`run_verb` parses the arguments and runs the verb; an expected user error (bad value, missing or unreadable
file, unwritable output, refused pickle) ends it with `error: <message>` on one line of stderr and status 2,
Ctrl-C with `interrupted` and status 130. Set STEVE1_TRACEBACK=1 to see the traceback instead.

The `check_*` functions raise `ValueError` with a one-line message; verbs call them on their arguments
before any world starts, any epoch runs or anything is written.
"""
from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_USAGE = 2  # bad arguments or input (argparse uses 2 as well)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C
TRACEBACK_ENV = "STEVE1_TRACEBACK"

# What a user can cause with bad arguments or files. The project's own errors derive from these
# (EpisodeError, GoalError, PriorDataError, ... are ValueErrors; MissingWeightsError, DownloadError OSErrors).
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, ImportError, pickle.UnpicklingError,
                                                 EOFError)


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (`prog: error: ... (see --help)`), exit status 2."""

    def error(self, message: str):
        print(f"{self.prog}: error: {one_line(message)} (see --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


def report_errors(run: Callable[..., int | None], *args: Any) -> int:
    """`run(*args)` as an exit status: its own, 2 with a one-line message for a user error, 130 on Ctrl-C."""
    try:
        return int(run(*args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USER_ERRORS as err:
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"error: {one_line(err) or type(err).__name__}", file=sys.stderr)
        return EXIT_USAGE


def run_verb(
    prog: str, doc: str | None, add_arguments: Callable[[argparse.ArgumentParser], Any],
    run: Callable[[argparse.Namespace], int | None], argv: list[str] | None,
    check: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """A verb's `main`: build its parser, parse `argv`, `check(args)`, then `run(args)`, errors reported."""
    parser = OneLineArgumentParser(prog=prog, description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)

    def checked_run(a: argparse.Namespace) -> int | None:
        if check is not None:
            check(a)
        return run(a)

    return report_errors(checked_run, args)


# ---------------------------------------------------------------------------------------------- checks


def check_int(value: int, name: str, minimum: int = 1, also: tuple[int, ...] = ()) -> int:
    """`value` >= `minimum` (or one of `also`, e.g. -1 for "all")."""
    if value in also or value >= minimum:
        return value
    extra = "".join(f" or {a}" for a in also)
    raise ValueError(f"{name} must be >= {minimum}{extra}, got {value}")


def check_float(value: float, name: str, minimum: float | None = None, strictly: bool = False) -> float:
    """A finite number (not nan/inf), >= `minimum` (> with `strictly`) when given."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strictly else value < minimum):
        raise ValueError(f"{name} must be {'>' if strictly else '>='} {minimum}, got {value}")
    return value


def check_writable_dir(path: str | Path, name: str) -> Path:
    """`path` is (or can be created as) a directory we can write in. Leaves nothing behind: directories
    created to probe are removed again."""
    path = Path(path)
    missing, existing = [], path
    while not existing.exists():
        missing.append(existing)
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ValueError(f"{name} {path}: {existing} is not a directory")
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".steve1-write-probe-"):
            pass
    except OSError as e:
        raise ValueError(f"{name} {path} is not writable ({e.strerror or e})") from None
    finally:
        for d in reversed(created):
            d.rmdir()
    return path


NAME_MAX_BYTES = 255  # file name limit of Linux file systems
TMP_NAME_BYTES = 40  # what steve1.utils.atomic.tmp_sibling adds to a name (dot, pid, random part, suffix)


def check_file_name(path: str | Path, name: str) -> Path:
    """`path`'s last part, and the temporary name it is first written under, fit the file name limit."""
    n = len(Path(path).name.encode("utf-8", "surrogatepass"))
    if n + TMP_NAME_BYTES > NAME_MAX_BYTES:
        raise ValueError(f"{name}: the file name {Path(path).name[:40]!r}... is {n} bytes; at most "
                         f"{NAME_MAX_BYTES - TMP_NAME_BYTES} fit")
    return Path(path)


def check_writable_file(path: str | Path, name: str) -> Path:
    """`path` can be written (its folder is writable; it is not a directory)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} {path} is a directory, expected a file name")
    check_writable_dir(path.parent, f"the folder of {name}")
    return path
