import pytest
import torch

from steve1.mineclip.checkpoint import MineClipCheckpointError
from steve1.prior.model import PriorWeightsError
from steve1.utils.state_dict import SHOWN, StateDictError, check_state_dict, find_mismatch
from steve1.vpt.weights import WeightsMismatchError

EXPECTED = {"a.weight": (2, 3), "a.bias": (2,), "b.weight": (4,)}


def _good():
    return {k: torch.zeros(s) for k, s in EXPECTED.items()}


def test_exact_match_passes():
    check_state_dict(EXPECTED, _good(), "x")
    assert not find_mismatch(EXPECTED, _good())


def test_names_every_kind_of_mismatch_and_sets_the_lists():
    got = _good()
    del got["a.bias"]
    got["c.extra"] = torch.zeros(1)
    got["b.weight"] = torch.zeros(5)
    with pytest.raises(StateDictError) as e:
        check_state_dict(EXPECTED, got, "f.pt does not fit", hint="Pass the right file.")
    msg = str(e.value)
    assert msg.startswith("f.pt does not fit: missing 1 key(s): a.bias; unexpected 1 key(s): c.extra; ")
    assert "1 shape mismatch(es): b.weight: file (5,) vs model (4,). Pass the right file." in msg
    lists = (e.value.missing, e.value.unexpected, e.value.wrong_shape)
    assert lists == (("a.bias",), ("c.extra",), ("b.weight",))


def test_non_tensor_value_is_a_shape_mismatch():
    got = {**_good(), "a.bias": [0.0, 0.0]}
    with pytest.raises(StateDictError, match=r"a\.bias: file list vs model \(2,\)"):
        check_state_dict(EXPECTED, got, "x")


def test_long_lists_are_truncated():
    expected = {f"k{i:02d}": (1,) for i in range(SHOWN + 5)}
    with pytest.raises(StateDictError) as e:
        check_state_dict(expected, {}, "x")
    msg = str(e.value)
    assert f"missing {SHOWN + 5} key(s)" in msg and "... and 5 more" in msg
    assert "k00" in msg and f"k{SHOWN + 4:02d}" not in msg
    assert len(e.value.missing) == SHOWN + 5  # the attribute keeps every key


def test_hint_may_depend_on_the_mismatch_and_error_class_is_kept():
    with pytest.raises(PriorWeightsError, match=r"\. 1 missing$"):
        check_state_dict(EXPECTED, {k: v for k, v in _good().items() if k != "a.bias"}, "x",
                         hint=lambda m: f"{len(m.missing)} missing", error=PriorWeightsError)


@pytest.mark.parametrize("cls, base", [
    (WeightsMismatchError, RuntimeError),
    (MineClipCheckpointError, ValueError),
    (PriorWeightsError, ValueError),
])
def test_loader_errors_share_the_common_base(cls, base):
    assert issubclass(cls, StateDictError) and issubclass(cls, base)
