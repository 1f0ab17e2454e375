"""The settings a resumable job's outputs were made with, kept next to them so that a rerun never mixes them.

Every resumable verb calls `check_or_record(out_dir, settings)` before it starts: the first run writes
`<out_dir>/run_settings.json` (atomically); a rerun with the same settings resumes; a rerun with other
settings stops with a one-line error that names what differs and the flag that redoes the job. With
`redo=True` (the verb's `--overwrite`) the record is replaced; the verb itself removes the old outputs.

    check_or_record("data/eval", {"steps": 3000, "policy": "2x"})          # first run: recorded
    check_or_record("data/eval", {"steps": 40, "policy": "2x"})            # SettingsChanged: steps
    check_or_record("data/eval", {"steps": 40, "policy": "2x"}, redo=True)  # recorded anew

Only the settings that shape the outputs belong in the record (not e.g. the device or a progress bar).
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

from steve1.cli_config import UsageError
from steve1.utils.atomic import atomic_write_text

log = logging.getLogger("steve1.run_record")
RECORD_NAME = "run_settings.json"
DATASET_RECORD = ".run_settings.json"  # in a dataset folder: hidden, so that it is not taken for an episode


class SettingsChanged(UsageError):
    """The outputs on disk were made with other settings than this run's."""


def _plain(settings: Mapping) -> dict:
    """Settings as JSON values (paths and other objects as text, tuples as lists), keys sorted."""
    return json.loads(json.dumps(dict(settings), default=str, sort_keys=True))


def read_record(out_dir: str | Path, name: str = RECORD_NAME) -> dict | None:
    """The recorded settings, or None when there is no (readable) record."""
    path = Path(out_dir) / name
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise SettingsChanged(f"{path} is unreadable ({type(err).__name__}); delete it or start over with "
                              f"the redo flag") from None
    return data if isinstance(data, dict) else None


def changed_settings(recorded: Mapping, settings: Mapping) -> list[str]:
    """Names of the settings whose values differ (or that only one side has), sorted."""
    now = _plain(settings)
    return sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))


def check_or_record(out_dir: str | Path, settings: Mapping, redo_flag: str | None = "--overwrite",
                    redo: bool = False, name: str = RECORD_NAME) -> bool:
    """Record `settings` for the outputs in `out_dir`, or check them against the record already there.

    Returns True when a record with the same settings was there (the job resumes), False when the record
    was written now (a first run, or `redo`). Raises SettingsChanged (a one-line user error) when the
    record holds other settings and `redo` is false."""
    out_dir = Path(out_dir)
    recorded = None if redo else read_record(out_dir, name)
    if recorded is not None:
        changed = changed_settings(recorded, settings)
        if not changed:
            return True
        now = _plain(settings)
        diffs = ", ".join(f"{k} {recorded.get(k)!r} -> {now.get(k)!r}" for k in changed[:4])
        more = f" (+{len(changed) - 4} more)" if len(changed) > 4 else ""
        fix = (f"pass {redo_flag} to redo them, or choose another output folder" if redo_flag else
               "choose another output folder (or delete this one to start over)")
        raise SettingsChanged(f"{out_dir} holds outputs made with other settings ({diffs}{more}); {fix}")
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / name, json.dumps(_plain(settings), indent=1, sort_keys=True) + "\n")
    log.debug("recorded the settings of %s", out_dir)
    return False


def discard_new_record(out_dir: str | Path, was_there: bool, name: str = RECORD_NAME) -> None:
    """Remove the record `check_or_record` just wrote (`was_there` is what it returned) when the job
    produced nothing, so that a failed first run leaves the output folder as it found it."""
    if not was_there:
        (Path(out_dir) / name).unlink(missing_ok=True)
