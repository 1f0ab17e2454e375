"""Every command the README shows works as written: each script and verb answers --help (or its smoke form),
and the configs the README's commands name exist and fit together."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from steve1 import cli
from steve1.cli_config import packaged_config, packaged_config_names

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SCRIPTS = sorted(set(re.findall(r"\b((?:train|run_agent)/\d_[a-z_]+\.sh)", README)))
VERBS_IN_README = sorted(set(re.findall(r"`steve1 ([a-z][a-z-]+)", README)))
HAS_ACCELERATE = importlib.util.find_spec("accelerate") is not None


def _run(cmd: list[str], env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def test_readme_names_scripts_and_verbs_that_exist():
    assert len(SCRIPTS) >= 9, SCRIPTS
    for script in SCRIPTS:
        assert (ROOT / script).is_file(), script
    assert VERBS_IN_README and set(VERBS_IN_README) <= set(cli.VERBS) | {"VERB"}, VERBS_IN_README


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_readme_script_answers_help(script):
    if script == "train/3_train.sh" and not HAS_ACCELERATE:
        pytest.skip("accelerate is not installed (pip install -e '.[train]')")
    proc = _run(["bash", script, "--help"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "set -euo" not in out and "usage: steve1 python" not in out  # help text, not the script's code
    if script not in ("train/1_generate_dataset.sh", "train/5_minetest_recipe.sh"):  # several verbs each
        assert re.search(r"usage: steve1 [a-z-]+ ", out), out[:300]


@pytest.mark.parametrize("env, script, verb_usage", [
    ({"CONFIG": "small"}, "train/2_create_sampling.sh", "usage: steve1 create-sampling"),
    ({"PAPER": "1"}, "train/2_create_sampling.sh", "usage: steve1 create-sampling"),
    ({"CONFIG": "small", "MIXED_PRECISION": "no"}, "train/3_train.sh", "usage: steve1 train"),
])
def test_readme_config_forms_load(env, script, verb_usage):
    if script == "train/3_train.sh" and not HAS_ACCELERATE:
        pytest.skip("accelerate is not installed (pip install -e '.[train]')")
    proc = _run(["bash", script, "--help"], env=env)
    assert proc.returncode == 0 and verb_usage in proc.stdout, proc.stderr[-2000:]


def test_download_script_help_and_list():
    proc = _run(["bash", "download_weights.sh", "--help"])
    assert proc.returncode == 0 and "Groups:" in proc.stdout
    assert "set -euo" not in proc.stdout and "DATA_DIR=" not in proc.stdout
    listing = _run(["bash", "download_weights.sh", "--list"]).stdout.splitlines()
    assert listing and all("https://" in line for line in listing)
    groups = {line.split()[0] for line in listing}
    for named in re.findall(r"download_weights\.sh ((?:[a-z]+ ?)+)", README + (ROOT / "train" /
                                                                          "0_label_videos.sh").read_text()):
        assert set(named.split()) <= groups | {"all"}, named


def test_every_train_config_has_its_sampling_config():
    """`CONFIG=small train/3_train.sh` reads the sampling `small`: a shipped sampling config makes it."""
    made = {yaml.safe_load(packaged_config("sampling", n).read_text()).get("name", "neurips")
            for n in packaged_config_names("sampling")} | {"neurips"}
    for name in packaged_config_names("train"):
        sampling = yaml.safe_load(packaged_config("train", name).read_text())["sampling"]
        assert sampling in made, f"train_{name}.yaml reads sampling {sampling!r} that no config makes"


def test_create_sampling_script_smoke(tmp_path):
    """The sampling script on an empty dataset folder: a one-line error naming the fix, no traceback."""
    (tmp_path / "ds").mkdir()
    proc = _run(["bash", "train/2_create_sampling.sh", "--dataset-dirs", str(tmp_path / "ds"), "--output-dir",
                 str(tmp_path / "s")])
    assert proc.returncode == 2, proc.stderr
    assert "RuntimeWarning" not in proc.stderr and "Traceback" not in proc.stderr
    assert "1_generate_dataset.sh" in proc.stderr and not (tmp_path / "s").exists()


def test_every_shipped_config_loads_into_its_verbs_settings():
    """Each steve1/configs/<prefix>_<name>.yaml names only settings its verb has, with values of its types."""
    from steve1.cli_config import settings_from_yaml
    from steve1.data.convert_contractor import ConvertSettings
    from steve1.data.gen_mixed_agents import GenerateSettings
    from steve1.data.sampling import SamplingSettings
    from steve1.mineclip.train import TrainMineClipSettings
    from steve1.prior.train import PriorTrainConfig
    from steve1.training.config import TrainConfig

    verbs = {"convert": ConvertSettings, "generate": GenerateSettings, "sampling": SamplingSettings,
             "mineclip": TrainMineClipSettings, "prior": PriorTrainConfig, "train": TrainConfig}
    shipped = {p.name for p in (ROOT / "steve1" / "configs").glob("*.yaml")}
    assert {f"{prefix}_{name}.yaml" for prefix in verbs for name in packaged_config_names(prefix)} == shipped
    for prefix, cls in verbs.items():
        for name in packaged_config_names(prefix):
            assert isinstance(settings_from_yaml(cls, name, prefix), cls), (prefix, name)
