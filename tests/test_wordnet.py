"""WordNet relatives for caption augmentation, read from a hand-made database in WordNet 3.0's file format."""
from __future__ import annotations

import numpy as np
import pytest

from steve1.cli_config import UsageError
from steve1.mineclip import wordnet as wordnet_mod
from steve1.mineclip.train import TrainMineClipSettings, replace_synonyms, training_words
from steve1.mineclip.wordnet import WordNet, relatives_table, wordnet_dir

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
# name -> (file, lex_filenum, ss_type, lemmas, [(pointer symbol, target name, source/target)], gloss)
SYNSETS = {
    "look": ("verb", 39, "v", ["look"], [("~", "gaze", "0000")], "perceive with attention"),
    "gaze": ("verb", 39, "v", ["gaze", "stare"], [("@", "look", "0000")], "look at with fixed eyes"),
    "tree": ("noun", 20, "n", ["tree"], [("~", "oak", "0000")], "a tall perennial woody plant"),
    "oak": ("noun", 20, "n", ["oak", "oak_tree"], [("@", "tree", "0000")], "a tree of the genus Quercus"),
    "log": ("noun", 20, "n", ["log"], [], "a segment of the trunk of a tree"),
    "up": ("adv", 2, "r", ["up", "upward", "upwards"], [], "spatially or metaphorically from a lower place"),
    "tall": ("adj", 0, "a", ["tall"], [("&", "big", "0000")], "great in vertical dimension"),
    "big": ("adj", 0, "s", ["big(a)", "large"], [("&", "tall", "0000")], "above average in size"),
    "run": ("verb", 38, "v", ["run"], [], "move fast by using one's feet"),
}
INDEX = {  # file -> {lemma: synset names}
    "noun": {"tree": ["tree"], "oak": ["oak"], "oak_tree": ["oak"], "log": ["log"]},
    "verb": {"look": ["look"], "gaze": ["gaze"], "stare": ["gaze"], "run": ["run"]},
    "adj": {"tall": ["tall"], "big": ["big"], "large": ["big"]},
    "adv": {"up": ["up"], "upward": ["up"], "upwards": ["up"]},
}
POS_LETTER = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}


def _data_line(name: str, offsets: dict[str, int]) -> str:
    file, lex, ss_type, lemmas, pointers, gloss = SYNSETS[name]
    words = " ".join(f"{w} 0" for w in lemmas)
    ptrs = " ".join(f"{sym} {offsets[t]:08d} {SYNSETS[t][2]} {st}" for sym, t, st in pointers)
    return (f"{offsets[name]:08d} {lex:02d} {ss_type} {len(lemmas):02x} {words} {len(pointers):03d}"
            f"{' ' + ptrs if ptrs else ''} | {gloss}  \n")


def write_wordnet(root) -> None:
    """index.*, data.* (byte offsets as WordNet has them: a synset's offset is where its line starts) and
    verb.exc."""
    offsets = {name: 0 for name in SYNSETS}  # every line has the same length whatever the offsets' values
    for file in POS_LETTER:
        pos = len(HEADER)
        for name in (n for n, s in SYNSETS.items() if s[0] == file):
            offsets[name] = pos
            pos += len(_data_line(name, offsets))
    for file, letter in POS_LETTER.items():
        lines = [_data_line(n, offsets) for n, s in SYNSETS.items() if s[0] == file]
        (root / f"data.{file}").write_text(HEADER + "".join(lines), encoding="latin-1")
        index = [f"{lemma} {letter} {len(names)} 0 {len(names)} 0 "
                 + " ".join(f"{offsets[n]:08d}" for n in names) + "  \n"
                 for lemma, names in sorted(INDEX[file].items())]
        (root / f"index.{file}").write_text(HEADER + "".join(index), encoding="latin-1")
    (root / "verb.exc").write_text("ran run\n", encoding="latin-1")


@pytest.fixture
def wn_dir(tmp_path, monkeypatch):
    write_wordnet(tmp_path)
    monkeypatch.setenv("WORDNET_DIR", str(tmp_path))
    return tmp_path


def test_relatives_are_synonyms_hypernyms_hyponyms_and_similar(wn_dir):
    wn = WordNet(wn_dir)
    assert wn.relatives("look") == ("gaze", "stare")  # hyponym synset
    assert wn.relatives("stare") == ("gaze", "look")  # synonym, hypernym
    assert wn.relatives("trees") == ("oak", "oak tree", "tree")  # plural detached; multi-word lemma spaced
    assert wn.relatives("logs") == ("log",)
    assert wn.relatives("up") == ("upward", "upwards")
    assert wn.relatives("tall") == ("big", "large")  # similar-to across a satellite ("big(a)" -> "big")
    assert wn.relatives("ran") == ("run",)  # irregular form from verb.exc
    assert wn.relatives("sky") == ()


def test_relatives_table_and_missing_database(wn_dir, tmp_path, monkeypatch):
    assert relatives_table(("look", "sky"), str(wn_dir)) == {"look": ("gaze", "stare"), "sky": ()}
    assert wordnet_dir() == wn_dir
    monkeypatch.setenv("WORDNET_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(UsageError, match="no WordNet database.*wordnet-base"):
        wordnet_dir()


def test_a_damaged_database_is_one_clear_error(wn_dir):
    data = wn_dir / "data.verb"
    text = data.read_text(encoding="latin-1")
    data.write_text(text[:len(HEADER)] + "#" + text[len(HEADER):], encoding="latin-1")  # shifts every offset
    with pytest.raises(UsageError, match="no synset at byte"):
        WordNet(wn_dir).relatives("look")


def test_replace_synonyms_swaps_only_words_with_relatives():
    relatives = {"look": ("gaze", "stare"), "sky": ("heavens",)}
    rng = np.random.default_rng(0)
    texts = ["look at the sky"] * 400
    assert replace_synonyms(texts, 0.0, rng, relatives) == texts
    out = replace_synonyms(texts, 0.5, rng, relatives)
    first = {t.split()[0] for t in out}
    assert first == {"look", "gaze", "stare"} and {t.split()[-1] for t in out} == {"sky", "heavens"}
    assert all(t.split()[1:3] == ["at", "the"] for t in out)
    share = np.mean([t.split()[0] != "look" for t in out])
    assert 0.4 < share < 0.6
    always = replace_synonyms(texts, 1.0, rng, relatives)
    assert not any({"look", "sky"} & set(t.split()) for t in always)


def test_training_words_leave_out_function_words():
    words = training_words()
    assert "tree" in words and "sky" in words and "swim" in words
    assert not {"a", "the", "at"} & set(words)
    with pytest.raises(UsageError, match="synonyms"):
        TrainMineClipSettings(synonyms=1.5)


def test_the_installed_database_when_present():
    """The real WordNet 3.0 (Debian's wordnet-base) gives the relatives the training relies on."""
    if not (wordnet_mod.DEFAULT_DIR / "index.noun").is_file():
        pytest.skip("wordnet-base is not installed")
    table = relatives_table(("look", "up", "tree"), str(wordnet_mod.DEFAULT_DIR))
    assert "gaze" in table["look"] and "upward" in table["up"] and "oak" in table["tree"]
