"""steve1.utils.run_record: the settings an output folder was made with; reruns with others refuse."""
import json
from pathlib import Path

import pytest

from steve1.utils.run_record import RECORD_NAME, SettingsChanged, check_or_record, read_record


def test_first_run_records_same_settings_resume(tmp_path):
    out = tmp_path / "out"
    assert check_or_record(out, {"steps": 300, "policy": "1x", "dir": Path("a")}) is False
    assert json.loads((out / RECORD_NAME).read_text()) == {"dir": "a", "policy": "1x", "steps": 300}
    assert check_or_record(out, {"policy": "1x", "steps": 300, "dir": Path("a")}) is True


def test_other_settings_refuse_with_the_redo_flag(tmp_path):
    check_or_record(tmp_path, {"steps": 150, "policy": "tiny"})
    with pytest.raises(SettingsChanged, match=r"policy 'tiny' -> '1x', steps 150 -> 300.*--redo-it"):
        check_or_record(tmp_path, {"steps": 300, "policy": "1x"}, redo_flag="--redo-it")
    with pytest.raises(SettingsChanged, match="new"):  # a setting only one side has counts too
        check_or_record(tmp_path, {"steps": 150, "policy": "tiny", "new": 1})
    assert read_record(tmp_path) == {"policy": "tiny", "steps": 150}  # a refusal changes nothing
    assert check_or_record(tmp_path, {"steps": 300, "policy": "1x"}, redo=True) is False
    assert read_record(tmp_path) == {"policy": "1x", "steps": 300}


def test_unreadable_record_is_a_clear_error(tmp_path):
    (tmp_path / RECORD_NAME).write_text("{half")
    with pytest.raises(SettingsChanged, match="unreadable"):
        check_or_record(tmp_path, {"a": 1})
    assert not [p for p in tmp_path.iterdir() if p.name != RECORD_NAME]  # no temp file left behind
