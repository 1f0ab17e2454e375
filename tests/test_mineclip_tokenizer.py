"""Offline CLIP BPE tokenizer vs MineCLIP's HF ids and open_clip (fixtures/parity/mineclip_tokenizer.pt)."""
from __future__ import annotations

import hashlib

import pytest
import torch
from conftest import load_parity

from steve1.mineclip import get_tokenizer, tokenize
from steve1.mineclip.tokenizer import VOCAB_FILE, VOCAB_SHA256


@pytest.fixture(scope="module")
def golden():
    return load_parity("mineclip_tokenizer.pt")


def test_vocab_file_is_the_clip_bpe_file():
    assert hashlib.sha256(VOCAB_FILE.read_bytes()).hexdigest() == VOCAB_SHA256


def test_ids_equal_mineclip_hf_for_every_string(golden):
    strings = golden["inputs"]["strings"]
    assert torch.equal(tokenize(strings), golden["outputs"]["mineclip_hf_ids"])
    for text, raw in zip(strings, golden["outputs"]["hf_bpe"], strict=True):
        assert get_tokenizer().encode(text) == list(raw), text


def test_differs_from_open_clip_exactly_where_hf_does(golden):
    """Our ids equal open_clip's except on the strings where MineCLIP's HF tokenizer differs from it."""
    out = golden["outputs"]
    ours_vs_open_clip = (tokenize(golden["inputs"]["strings"]) != out["open_clip_ids"]).any(dim=1)
    assert torch.equal(ours_vs_open_clip, out["differs_open_clip_vs_mineclip_hf"])


def test_paper_prompts(golden):
    from_names = dict(zip(golden["inputs"]["prompt_names"], golden["inputs"]["strings"], strict=False))
    for name, ids in golden["outputs"]["paper_prompt_ids"].items():
        assert torch.equal(tokenize(from_names[name])[0], ids), name


@pytest.mark.parametrize(
    "text, ids",
    [
        ("hello world", [3306, 1002]),
        ("dig as far as possible", [9887, 601, 2384, 601, 3134]),
        ("look at the sky", [1012, 536, 518, 2390]),
        ("open inventory", [1488, 19444]),
        ("You should've done this", [592, 1535, 1200, 1700, 589]),
        ("  LOOK   at\tthe\nsky ", [1012, 536, 518, 2390]),
    ],
)
def test_golden_ids(text, ids):
    assert get_tokenizer().encode(text) == ids
    row = tokenize(text)[0]
    assert row.tolist() == [49406, *ids, 49407] + [0] * (77 - len(ids) - 2)


def test_layout_truncation_and_empty():
    long_ids = tokenize("dig " * 200)
    assert long_ids.shape == (1, 77)
    assert long_ids[0, 0] == 49406 and long_ids[0, 76] == 49407
    assert (long_ids[0, 1:76] == 9887).all()  # 75 BPE ids kept
    assert tokenize("")[0, :3].tolist() == [49406, 49407, 0]
    assert tokenize(["a", "b c"]).shape == (2, 77)


def test_lowercase_is_per_character_as_hf():
    """HF lower-cases char by char, so a final capital sigma becomes σ, not ς (Python's str.lower)."""
    assert get_tokenizer().encode("ΟΔΟΣ") == get_tokenizer().encode("οδοσ")
    assert get_tokenizer().encode("ΟΔΟΣ") != get_tokenizer().encode("οδος")


def test_bad_input_type():
    with pytest.raises(TypeError, match="str"):
        tokenize(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        tokenize(["ok", None])  # type: ignore[list-item]
