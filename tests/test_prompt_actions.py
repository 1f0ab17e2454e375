"""benchmarks.prompt_actions: which prompt's goal explains recorded skill segments (offline, tiny models)."""
import json

import pytest
import torch

from benchmarks import prompt_actions as pa
from steve1.data.episode import find_episode_dirs
from steve1.mineclip.synthetic import write_synthetic_episode
from steve1.run.common import build_models

SKILLS = ["look_at_sky", "explore", "build_tower", "look_at_sky"]  # 32-frame segments


@pytest.fixture()
def episodes(tmp_path):
    write_synthetic_episode(tmp_path, "ep0", SKILLS, seed=0)
    ep = find_episode_dirs(str(tmp_path))[0]
    states = [json.loads(line) for line in open(ep / "states.jsonl")]
    for t, s in enumerate(states):
        s["skill"] = SKILLS[t // 32] if t % 32 < 28 else "bump"  # 28-step skill runs between bumps
    (ep / "states.jsonl").write_text("".join(json.dumps(s) + "\n" for s in states))
    return tmp_path


def test_skill_segments_are_the_runs_of_known_skills_long_enough():
    skills = ["a"] * 25 + ["bump"] * 3 + ["b"] * 10 + ["a"] * 30
    assert pa.skill_segments(skills, ["a", "b"]) == [("a", 0, 25), ("a", 38, 68)]


def test_prompt_actions_scores_every_segment_and_a_goal_blind_policy_gains_nothing(episodes, capsys):
    args = pa.PromptActionSettings(policy="tiny", mineclip="tiny", random_weights=True,
                                   episodes=str(episodes), first_steps=20, device="cpu")
    assert pa.main(["--policy", "tiny", "--mineclip", "tiny", "--random-weights", "--episodes",
                    str(episodes), "--first-steps", "20"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("segments=4 prompt_accuracy=") and "chance=0.125 gain_over_zero=" in lines[-1]
    response = lines[lines.index(next(x for x in lines if x.startswith("prompt "))) + 1:-1]
    assert [r.split()[0] for r in response] == ["unprompted", *pa.EVENTS]  # one row per prompt
    assert all(len(r.split()) == 1 + len(pa.RESPONSE_COLUMNS) for r in response)
    models = build_models(args)
    with torch.no_grad():  # a goal layer that passes nothing: every prompt explains the actions equally
        models.policy.net.mineclip_embed_linear.weight.zero_()
        models.policy.net.mineclip_embed_linear.bias.zero_()
    confusion, gains = pa.score(args, models, pa.prompt_goals(args, models))
    assert sum(sum(r.values()) for r in confusion.values()) == 4
    assert all(g == 0.0 for v in gains.values() for g in v)


def test_an_empty_episode_folder_is_a_usage_error(tmp_path):
    assert pa.main(["--policy", "tiny", "--mineclip", "tiny", "--random-weights", "--episodes",
                    str(tmp_path)]) != 0
