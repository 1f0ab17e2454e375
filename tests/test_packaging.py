"""Packaging: the `minerl` extra installs MineRL 1.0 (not PyPI's 0.4), configs ship inside the package."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_constants() -> dict:
    tree = ast.parse((ROOT / "setup.py").read_text())
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            consts[node.targets[0].id] = node.value.value
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "extras_require":
            extras = {}
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                extras[key.value] = [consts[e.id] if isinstance(e, ast.Name) else e.value for e in value.elts]
            consts["extras_require"] = extras
        if isinstance(node, ast.keyword) and node.arg == "package_data":
            consts["package_data"] = ast.literal_eval(node.value)
    return consts


def test_minerl_extra_is_the_1_0_git_tag():
    extras = _setup_constants()["extras_require"]
    minerl = [r for r in extras.get("minerl", []) if r.replace(" ", "").startswith("minerl")]
    assert minerl, "no minerl requirement in the minerl extra"
    for req in minerl:
        name, _, url = req.partition("@")
        assert name.strip() == "minerl", req
        assert url.strip() == "git+https://github.com/minerllabs/minerl@v1.0.1", req


def test_shipped_configs_are_package_data():
    patterns = _setup_constants()["package_data"]["steve1"]
    assert "**/*.yaml" in patterns
    shipped = sorted(p.name for p in (ROOT / "steve1" / "configs").glob("*.yaml"))
    assert {"train_paper.yaml", "train_small.yaml", "train_tiny.yaml", "prior_paper.yaml",
            "sampling_small.yaml"} <= set(shipped)
    assert not (ROOT / "configs").exists()  # one place for configs: inside the package


def test_cluster_extra_is_ray_with_a_minimum_version_and_ci_installs_it():
    extras = _setup_constants()["extras_require"]
    (ray,) = extras["cluster"]
    name, _, version = ray.partition(">=")
    assert name == "ray" and version[:1].isdigit(), ray
    assert ray in extras["dev"]  # CI installs the dev extra: the Ray tests run there
