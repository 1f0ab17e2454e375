import pickle

import numpy as np
import pytest

from steve1.utils.atomic import atomic_directory, atomic_path, atomic_write_text
from steve1.utils.checksum import ChecksumError, file_digest, verify_digest
from steve1.utils.safe_pickle import UnsafePickleError, safe_load, safe_loads


def test_safe_pickle_round_trips_builtins_and_arrays():
    obj = {"a": [1, 2.5, None, True], "b": (np.arange(6, dtype=np.float32).reshape(2, 3),), "c": np.int64(3)}
    out = safe_loads(pickle.dumps(obj))
    assert out["a"] == [1, 2.5, None, True]
    np.testing.assert_array_equal(out["b"][0], obj["b"][0])
    assert out["c"] == 3


def test_safe_pickle_refuses_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(UnsafePickleError, match="builtins.print"):
        safe_loads(pickle.dumps(Evil()))


def test_safe_load_names_file_on_truncation(tmp_path):
    p = tmp_path / "x.pkl"
    p.write_bytes(pickle.dumps(list(range(100)))[:-5])
    with pytest.raises(pickle.UnpicklingError, match="x.pkl"):
        safe_load(p)


def test_atomic_writes_leave_nothing_on_error(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "hi")
    assert (tmp_path / "a.txt").read_text() == "hi"
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "ep") as d:
            (d / "f").write_text("x")
            raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    with atomic_directory(tmp_path / "ep") as d:
        (d / "f").write_text("x")
    assert (tmp_path / "ep" / "f").read_text() == "x"
    with pytest.raises(FileExistsError):
        with atomic_directory(tmp_path / "ep"):
            pass


def test_checksum(tmp_path):
    p = tmp_path / "w"
    p.write_bytes(b"abc")
    assert file_digest(p) == "900150983cd24fb0d6963f7d28e17f72"
    verify_digest(p, "900150983cd24fb0d6963f7d28e17f72")
    with pytest.raises(ChecksumError, match="Re-download"):
        verify_digest(p, "0" * 32, what="MineCLIP checkpoint")
