"""Offline CLIP byte-level BPE tokenizer giving MineCLIP's token ids (no network, no extra packages).

MineCLIP tokenises with HuggingFace's fast CLIP tokenizer (`openai/clip-vit-base-patch16`, fetched from the
hub) and lays the ids out as [BOS 49406, ids[:75], EOT 49407, 0, 0, ...] of length 77. This module rebuilds
that pipeline from the CLIP BPE file shipped in this package (`bpe_simple_vocab_16e6.txt.gz`, MIT licence,
sha256 924691ac...d6804a):

1. the literal special strings "<|startoftext|>" / "<|endoftext|>" become their ids (as in HF);
2. every other span: Unicode NFC, runs of Unicode whitespace -> one space, lower-case per character;
3. pre-split with CLIP's pattern `'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+`
   (implemented with `unicodedata` categories, so the `regex` package is not needed);
4. byte-level BPE with the "</w>" end-of-word suffix.

Difference from OpenAI's / open_clip's `SimpleTokenizer`: those also run `ftfy.fix_text` and
`html.unescape` twice, so they give other ids for HTML entities ("&amp;"), ligatures ("ﬁ"), full-width
letters, curly apostrophes ("don’t") and mojibake, and they do not map "<|endoftext|>" typed in a prompt to
49407. We follow MineCLIP/HF, because that is what produced STEVE-1's released embeddings and prior data;
for plain ASCII prompts (all of STEVE-1's) both tokenizers agree. Faithful quirk kept: a prompt containing
"<|endoftext|>" gets an early 49407, and `encode_text` reads the feature there (the first EOT).
"""
from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from pathlib import Path

import torch

from steve1.mineclip.config import CONTEXT_LENGTH, VOCAB_SIZE

VOCAB_FILE = Path(__file__).with_name("bpe_simple_vocab_16e6.txt.gz")
VOCAB_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
BOS_ID, EOT_ID, PAD_ID = 49406, 49407, 0
SPECIAL_TOKENS = {"<|startoftext|>": BOS_ID, "<|endoftext|>": EOT_ID}
MAX_BPE_TOKENS = CONTEXT_LENGTH - 2  # 75 ids between BOS and EOT
_NUM_MERGES = 49152 - 256 - 2
_CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
# Unicode White_Space (what `\s` means in the Rust regex engine HF tokenizers use).
_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP/GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def _char_class(c: str) -> str:
    if c in _WHITESPACE:
        return "s"
    cat = unicodedata.category(c)[0]
    return cat if cat in ("L", "N") else "p"


def _pre_split(text: str) -> list[str]:
    """CLIP's pre-tokenisation pattern, leftmost-first alternation; whitespace is dropped."""
    classes = [_char_class(c) for c in text]
    pieces, i, n = [], 0, len(text)
    while i < n:
        if text[i] == "'":
            hit = next((c for c in _CONTRACTIONS if text.startswith(c, i)), None)
            if hit is not None:
                pieces.append(hit)
                i += len(hit)
                continue
        kind = classes[i]
        if kind == "s":
            i += 1
            continue
        j = i + 1
        if kind != "N":  # letters and punctuation are greedy runs, digits are single
            while j < n and classes[j] == kind:
                j += 1
        pieces.append(text[i:j])
        i = j
    return pieces


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    out, prev_space = [], False
    for c in text:
        if c in _WHITESPACE:
            if not prev_space:
                out.append(" ")
            prev_space = True
        else:
            out.append(c)
            prev_space = False
    return "".join(c.lower() for c in out)  # per character, as HF (no final-sigma context rule)


class ClipBPETokenizer:
    """Byte-level BPE over the CLIP vocabulary; `encode` gives raw ids, `__call__` the (B, 77) layout."""

    def __init__(self, vocab_file: str | Path = VOCAB_FILE):
        with gzip.open(vocab_file, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1 : _NUM_MERGES + 1]]
        if len(merges) != _NUM_MERGES or any(len(m) != 2 for m in merges):
            raise ValueError(f"{vocab_file} is not the CLIP BPE merges file (sha256 {VOCAB_SHA256})")
        self.byte_encoder = _bytes_to_unicode()
        symbols = list(self.byte_encoder.values())
        symbols += [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + list(SPECIAL_TOKENS)
        if len(symbols) != VOCAB_SIZE:
            raise ValueError(f"vocabulary has {len(symbols)} entries, expected {VOCAB_SIZE}")
        self.encoder = {s: i for i, s in enumerate(symbols)}
        self.bpe_ranks = {m: r for r, m in enumerate(merges)}
        self._bpe = lru_cache(maxsize=1 << 16)(self._bpe_uncached)

    def _bpe_uncached(self, word: str) -> tuple[int, ...]:
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = {(a, b) for a, b in zip(parts[:-1], parts[1:], strict=True)}
            best = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if best not in self.bpe_ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return tuple(self.encoder[p] for p in parts)

    def _encode_span(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in _pre_split(_normalize(text)):
            ids.extend(self._bpe("".join(self.byte_encoder[b] for b in piece.encode("utf-8"))))
        return ids

    def encode(self, text: str) -> list[int]:
        """BPE ids without BOS/EOT and without truncation."""
        ids: list[int] = []
        start = 0
        while start <= len(text):
            hits = [(text.find(s, start), s) for s in SPECIAL_TOKENS]
            hits = [(pos, s) for pos, s in hits if pos >= 0]
            if not hits:
                ids.extend(self._encode_span(text[start:]))
                break
            pos, special = min(hits)
            ids.extend(self._encode_span(text[start:pos]))
            ids.append(SPECIAL_TOKENS[special])
            start = pos + len(special)
        return ids

    def __call__(self, texts: str | list[str]) -> torch.Tensor:
        """(B, 77) long: BOS, the first 75 BPE ids, EOT, then 0 padding (MineCLIP's layout)."""
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"tokenize expects a str or a list of str, got {type(texts).__name__}")
        out = torch.full((len(texts), CONTEXT_LENGTH), PAD_ID, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [BOS_ID] + self.encode(text)[:MAX_BPE_TOKENS] + [EOT_ID]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out


@lru_cache(maxsize=1)
def get_tokenizer() -> ClipBPETokenizer:
    """The package's tokenizer (the vocabulary is read once)."""
    return ClipBPETokenizer()


def tokenize(texts: str | list[str]) -> torch.Tensor:
    """MineCLIP token ids (B, 77) for one prompt or a list of prompts. Empty prompts are allowed here
    (they give BOS, EOT); `MineClipEmbedder.embed_text` refuses them."""
    return get_tokenizer()(texts)
