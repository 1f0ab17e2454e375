"""Word relatives from the WordNet 3.0 database files, for caption augmentation in `train-mineclip`.

The released MineCLIP's text tower started from CLIP, which read the web and knows that "gaze" is a way to
look; a text tower trained from scratch on our handful of captions knows only their words. Swapping caption
words for WordNet relatives during training (synonym replacement, as in EDA: Wei & Zou 2019) gives it that
lexical knowledge from a generic dictionary, never from the held-out phrasings.

A word's relatives: every lemma of every synset the word (or its base form: "logs" -> "log") belongs to,
in any part of speech, plus the lemmas of those synsets' direct hypernyms, hyponyms and similar adjectives.
Multi-word lemmas are kept ("cut_down" -> "cut down"). The database is read where Debian's `wordnet-base`
installs it (/usr/share/wordnet), or from $WORDNET_DIR: files index.{noun,verb,adj,adv} (lemma -> synset
byte offsets), data.{noun,verb,adj,adv} (a synset's lemmas and pointers, at that byte offset) and
{noun,verb,adj,adv}.exc (irregular forms: "ran run").
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from steve1.cli_config import UsageError

DEFAULT_DIR = Path("/usr/share/wordnet")  # Debian/Ubuntu: apt-get install wordnet-base
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}  # synset type letter -> file suffix
RELATION_POINTERS = frozenset({"@", "@i", "~", "~i", "&"})  # hypernym, hyponym (and instance), similar to
# Regular inflections, WordNet's own detachment rules (suffix -> base ending), tried for every part of speech.
DETACHMENTS = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
               ("men", "man"), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
               ("ing", "e"), ("ing", ""), ("er", ""), ("est", ""), ("er", "e"), ("est", "e"))


def wordnet_dir() -> Path:
    """The WordNet database folder: $WORDNET_DIR, else /usr/share/wordnet; a clear error when absent."""
    path = Path(os.environ.get("WORDNET_DIR", DEFAULT_DIR))
    if not (path / "index.noun").is_file():
        raise UsageError(f"no WordNet database at {path} (index.noun missing): install it with "
                         f"`apt-get install wordnet-base`, or set WORDNET_DIR to a folder holding WordNet "
                         f"3.0's index.* and data.* files")
    return path


class WordNet:
    """Lemma lookups over one WordNet database folder (index files read whole, synsets read on demand)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.index: dict[str, list[tuple[str, int]]] = {}  # lemma -> [(pos letter, byte offset)]
        self.exceptions: dict[str, list[str]] = {}  # irregular form -> base forms
        for pos, name in POS_FILES.items():
            with open(self.path / f"index.{name}", encoding="latin-1") as f:
                for line in f:
                    if line.startswith(" "):  # the licence header
                        continue
                    fields = line.split()
                    # lemma pos synset_cnt p_cnt [ptr_symbol]*p_cnt sense_cnt tagsense_cnt offset*synset_cnt
                    n_synsets = int(fields[2])
                    self.index.setdefault(fields[0], []).extend((pos, int(o)) for o in fields[-n_synsets:])
            exc = self.path / f"{name}.exc"
            if exc.is_file():
                for line in exc.read_text(encoding="latin-1").splitlines():
                    form, *bases = line.split()
                    self.exceptions.setdefault(form, []).extend(bases)

    def base_forms(self, word: str) -> list[str]:
        """The word itself when WordNet knows it, plus its irregular and detached base forms that it knows."""
        word = word.lower()
        forms = [word] + self.exceptions.get(word, [])
        forms += [word[: -len(suffix)] + ending for suffix, ending in DETACHMENTS if word.endswith(suffix)]
        return list(dict.fromkeys(f for f in forms if f in self.index))

    @functools.lru_cache(maxsize=None)  # noqa: B019 (one WordNet per process, kept for its lifetime)
    def synset(self, pos: str, offset: int) -> tuple[tuple[str, ...], tuple[tuple[str, str, int], ...]]:
        """(lemmas, pointers (symbol, pos letter, offset)) of the synset at `offset` in data.<pos>."""
        with open(self.path / f"data.{POS_FILES[pos]}", "rb") as f:
            f.seek(offset)
            line = f.readline().decode("latin-1")
        # offset lex_filenum ss_type w_cnt(hex) [word lex_id]*w_cnt p_cnt [symbol offset pos src/tgt]*p_cnt
        fields = line.split(" | ")[0].split()
        if not fields or fields[0] != f"{offset:08d}":
            raise UsageError(f"{self.path}/data.{POS_FILES[pos]}: no synset at byte {offset} (a damaged "
                             f"or mismatched WordNet database)")
        n_words = int(fields[3], 16)
        lemmas = tuple(fields[4 + 2 * i].split("(")[0].lower() for i in range(n_words))  # "big(a)" -> "big"
        k = 4 + 2 * n_words
        pointers = []
        for i in range(int(fields[k])):
            symbol, target, target_pos = fields[k + 1 + 4 * i : k + 4 + 4 * i]
            pointers.append((symbol, "a" if target_pos == "s" else target_pos, int(target)))  # s: satellite
        return lemmas, tuple(pointers)

    def relatives(self, word: str) -> tuple[str, ...]:
        """Sorted relatives of `word` (module docstring), spaces for underscores, the word itself left out."""
        found: set[str] = set()
        for form in self.base_forms(word):
            for pos, offset in self.index[form]:
                lemmas, pointers = self.synset(pos, offset)
                found.update(lemmas)
                for symbol, pos2, offset2 in pointers:
                    if symbol in RELATION_POINTERS:
                        found.update(self.synset(pos2, offset2)[0])
        words = {w.replace("_", " ") for w in found} - {word.lower()}
        return tuple(sorted(w for w in words if w.replace(" ", "").replace("-", "").isalpha()))


@functools.lru_cache(maxsize=4)
def relatives_table(words: tuple[str, ...], path: str | None = None) -> dict[str, tuple[str, ...]]:
    """{word: its relatives} for the given words (a word WordNet does not know maps to ())."""
    wn = WordNet(Path(path) if path else wordnet_dir())
    return {w: wn.relatives(w) for w in words}
