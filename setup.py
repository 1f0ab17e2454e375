"""Installation of the steve1 package (see README.md for the two set-up commands)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
RAY = "ray>=2.9"  # plain Ray (core: tasks, actors, `ray start`); ~80 MB wheel, no dashboard extras
MINERL_1_0 = "minerl @ git+https://github.com/minerllabs/minerl@v1.0.1"  # PEP 508 direct reference

setup(
    name="steve1",
    version="0.1.0",
    description="STEVE-1: a generative model for text-to-behavior in Minecraft, re-implemented.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["steve1", "steve1.*"]),
    include_package_data=True,
    package_data={"steve1": [
        "**/*.gz", "**/*.png", "**/*.lua", "**/*.conf", "**/*.txt", "**/*.yaml",
        "weights/**/*.pth", "weights/**/*.weights", "weights/**/*.pt", "weights/**/*.json", "weights/**/*.md",
        "weights/**/*.pkl", "weights/**/*.mp4",
    ]},
    install_requires=[
        "torch>=2.1",
        "numpy>=1.23",
        "opencv-python-headless>=4.7",
        "tqdm>=4.60",
        "pyyaml>=6.0",
        "python-xlib>=0.33",
        "gymnasium>=1.0",
        "matplotlib>=3.6",
        "simple-parsing>=0.1.5",  # typed settings -> every verb's flags, --help and YAML (steve1.cli_config)
    ],
    extras_require={
        # Policy fine-tuning: `accelerate launch` (multi-GPU / multi-node DDP, bf16); wandb is opt-in.
        "train": ["accelerate>=0.26", "wandb>=0.15"],
        # Real Minecraft: MineRL 1.0.1 from its git tag (PyPI's `minerl` is the old 0.4 API), built with
        # Java 8 and gradle on install (see README, "Real Minecraft").
        "minerl": [MINERL_1_0],
        # Conversion, generation, embedding, labelling and evaluation on a Ray cluster (`--ray [ADDRESS]`).
        "cluster": [RAY],
        "dev": ["pytest>=7.0", "ruff>=0.4", "accelerate>=0.26", "hypothesis>=6.0", RAY],
    },
    entry_points={"console_scripts": ["steve1=steve1.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ],
)
