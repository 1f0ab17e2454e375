"""Per-policy default guidance scales (`<weights stem>.guidance.json`)."""
from __future__ import annotations

import json

import pytest

from benchmarks.steerability import SteerSettings
from steve1.agent.goals import TEXT_COND_SCALE, VISUAL_COND_SCALE
from steve1.agent.guidance import guidance_file, policy_guidance
from steve1.cli_config import UsageError
from steve1.run.prompt_video import PromptVideoSettings


def test_guidance_file_sits_beside_the_weights(tmp_path):
    assert guidance_file(tmp_path / "policy.weights") == tmp_path / "policy.guidance.json"
    assert guidance_file("x/model.bin").name == "model.bin.guidance.json"  # other suffixes are kept


def test_no_file_keeps_the_original_scales(tmp_path):
    assert policy_guidance("small", tmp_path / "p.weights") == (TEXT_COND_SCALE, VISUAL_COND_SCALE)


def test_file_sets_defaults_and_the_command_line_wins(tmp_path):
    weights = tmp_path / "p.weights"
    guidance_file(weights).write_text(json.dumps({"text_cond_scale": 3.0, "visual_cond_scale": 2.5,
                                                  "note": "measured"}))
    assert policy_guidance("small", weights) == (3.0, 2.5)
    s = SteerSettings(weights=str(weights), out_dir=tmp_path / "out")
    assert (s.cond_scale, s.visual_cond_scale) == (3.0, 2.5)
    s = SteerSettings(weights=str(weights), cond_scale=0.0, out_dir=tmp_path / "out")
    assert (s.cond_scale, s.visual_cond_scale) == (0.0, 2.5)
    assert PromptVideoSettings(weights=str(weights)).cond_scale is None  # resolved per goal kind at run time
    guidance_file(weights).write_text(json.dumps({"text_cond_scale": 4.0}))
    assert policy_guidance("small", weights) == (4.0, VISUAL_COND_SCALE)


@pytest.mark.parametrize("text", ['{"text_cond_scale": "high"}', "[1, 2]", "{", '{"text_cond_scale": -1}'])
def test_a_bad_file_is_one_clear_error(tmp_path, text):
    weights = tmp_path / "p.weights"
    guidance_file(weights).write_text(text)
    with pytest.raises(UsageError, match="guidance"):
        policy_guidance("small", weights)


def test_the_shipped_policy_is_found_by_name():
    from steve1 import paths

    assert policy_guidance("minetest", "ignored") == policy_guidance("small", paths.SHIPPED_POLICY)
