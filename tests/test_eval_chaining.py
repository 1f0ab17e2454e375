import numpy as np
import pytest

from steve1.eval.chaining import PAPER_CHAIN_PROMPTS, PromptSchedule, paper_chain


def test_active_prompt_per_step():
    s = PromptSchedule.from_pairs([("a", 0), ("b", 3), ("c", 5)])
    assert [s.prompt_at(t) for t in range(8)] == list("aaabbccc")
    assert s.per_step(8) == list("aaabbccc")
    assert s.indices(8).tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert s.switches(5) == [3] and s.switches(100) == [3, 5]


def test_paper_chains():
    tower = paper_chain("build_tower", switch_step=100)
    assert tower.prompt_at(99) == PAPER_CHAIN_PROMPTS["build_tower"][0]
    assert tower.prompt_at(100) == "build a tower"
    assert paper_chain("wooden_planks").prompts == ("break wood", "craft wooden planks")
    with pytest.raises(KeyError, match="known chains"):
        paper_chain("nether")


@pytest.mark.parametrize("pairs, match", [
    ([], "at least one"),
    ([("a", 1)], "step 0"),
    ([("a", 0), ("b", 0)], "strictly increase"),
    ([("a", 0), ("  ", 4)], "empty"),
    ([("a", -1)], ">= 0"),
    ([("a", 0), ("b", 2.5)], ">= 0"),
])
def test_bad_schedules(pairs, match):
    with pytest.raises(ValueError, match=match):
        PromptSchedule.from_pairs(pairs)


def test_numpy_start_steps_accepted():
    s = PromptSchedule.from_pairs([("a", np.int64(0)), ("b", np.int64(2))])
    assert s.starts == (0, 2)
