"""Open pickles from the internet without executing arbitrary code.

`.model` files, `actions.pkl`, `embeds_attn.pkl`, the prior's `data.pkl` and the visual-prompt pickles hold
only builtins and numpy arrays. `safe_load` accepts exactly those and refuses every other global with an
error that names it, so a malicious or unexpected file fails loudly instead of running code.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

_ALLOWED_GLOBALS = {
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "str"), ("builtins", "bytes"), ("builtins", "bytearray"),
    ("builtins", "int"), ("builtins", "float"), ("builtins", "bool"), ("builtins", "complex"),
    ("builtins", "slice"), ("builtins", "range"),
    ("collections", "OrderedDict"),
    # numpy arrays, dtypes and scalars (numpy 1.x lives in numpy.core, 2.x in numpy._core)
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle asked for a global that steve1 does not allow."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module == "numpy" and name.endswith("Dtype") or module == "numpy.dtypes":
            return super().find_class(module, name)  # numpy 2 dtype classes, e.g. numpy.dtypes.Float32DType
        raise UnsafePickleError(
            f"refusing to unpickle {module}.{name}: steve1 only opens pickles of builtins and numpy arrays"
        )


def safe_loads(data: bytes):
    """Unpickle bytes holding only builtins and numpy arrays."""
    return _RestrictedUnpickler(io.BytesIO(data)).load()


def safe_load(path: str | Path):
    """Unpickle a file holding only builtins and numpy arrays; errors name the file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f).load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{path}: {e}") from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError) as e:
        raise pickle.UnpicklingError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None
