"""Strict state-dict checking shared by every weight loader (VPT policy, MineCLIP, prior).

`check_state_dict(expected, got, what)` raises one error naming every missing, unexpected and mis-shaped key
(each list truncated to `SHOWN` names), so a mis-named key never silently keeps its random init:

    <what>: missing 1 key(s): a.bias; unexpected 1 key(s): a.b; 1 shape mismatch(es): c.weight: file (1, 65)
    vs model (1, 64). <hint>
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

SHOWN = 8  # names per list in an error message


class StateDictError(ValueError):
    """A state dict / weight file does not fit the model it is loaded into.

    Raised by `check_state_dict` with the three key lists set; loaders subclass it for their own errors
    (e.g. an unreadable file), where the lists stay empty.
    """

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    wrong_shape: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateDictMismatch:
    """Sorted key lists; `wrong_shape` holds keys present on both sides with different shapes."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    wrong_shape: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)


def name_keys(keys: Iterable[str], shown: int = SHOWN) -> str:
    """'a, b, c ... and 5 more' (sorted)."""
    keys = sorted(keys)
    more = f" ... and {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def _shape(value) -> tuple | None:
    shape = getattr(value, "shape", None)
    return None if shape is None else tuple(shape)


def find_mismatch(expected: Mapping[str, tuple], got: Mapping) -> StateDictMismatch:
    """Compare key sets and shapes; `expected` maps key -> shape (Size or tuple), `got` key -> tensor."""
    wrong = [k for k, s in expected.items() if k in got and _shape(got[k]) != tuple(s)]
    return StateDictMismatch(
        missing=tuple(sorted(k for k in expected if k not in got)),
        unexpected=tuple(sorted(k for k in got if k not in expected)),
        wrong_shape=tuple(sorted(wrong)),
    )


def check_state_dict(
    expected: Mapping[str, tuple],
    got: Mapping,
    what: str,
    hint: str | Callable[[StateDictMismatch], str] = "",
    error: type[StateDictError] = StateDictError,
) -> None:
    """Raise `error` (a StateDictError subclass) unless `got` has exactly the keys and shapes of `expected`.

    what: the message's subject ("policy.weights does not fit this policy"); hint: what to do, appended as is,
    or a function of the mismatch that returns it (for hints that depend on which keys are wrong).
    """
    found = find_mismatch(expected, got)
    if not found:
        return
    parts = []
    if found.missing:
        parts.append(f"missing {len(found.missing)} key(s): {name_keys(found.missing)}")
    if found.unexpected:
        parts.append(f"unexpected {len(found.unexpected)} key(s): {name_keys(found.unexpected)}")
    if found.wrong_shape:
        shapes = [
            f"{k}: file {_shape(got[k]) or type(got[k]).__name__} vs model {tuple(expected[k])}"
            for k in found.wrong_shape[:SHOWN]
        ]
        more = f" ... and {len(found.wrong_shape) - SHOWN} more" if len(found.wrong_shape) > SHOWN else ""
        parts.append(f"{len(found.wrong_shape)} shape mismatch(es): {'; '.join(shapes)}{more}")
    text = hint(found) if callable(hint) else hint
    err = error(f"{what}: " + "; ".join(parts) + (f". {text}" if text else ""))
    err.missing, err.unexpected, err.wrong_shape = found.missing, found.unexpected, found.wrong_shape
    raise err
