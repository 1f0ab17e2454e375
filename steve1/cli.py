"""The `steve1` command: one verb per job; `steve1 VERB --help` shows a verb's options.

Each verb is a module with `main(argv)`; the numbered shell scripts call the same modules, so
`steve1 VERB ...` and `python -m MODULE ...` are interchangeable.
"""
from __future__ import annotations

import importlib
import sys

# verb -> (module with main(argv), one-line description)
VERBS: dict[str, tuple[str, str]] = {
    "quickstart": ("steve1.quickstart.run", "the whole recipe end to end, small, on the Minetest world"),
    "convert-contractor": ("steve1.data.convert_contractor", "VPT contractor .mp4+.jsonl -> episodes"),
    "gen-mixed-agents": ("steve1.data.gen_mixed_agents", "generate episodes with two switching agents"),
    "create-sampling": ("steve1.data.sampling", "train/val episode lists by frame budget"),
    "label-video": ("steve1.idm.label", "label gameplay videos with the VPT IDM -> training episodes"),
    "train": ("steve1.training.train", "fine-tune VPT into STEVE-1 (accelerate launch for many GPUs)"),
    "train-prior": ("steve1.prior.train", "train the CVAE prior on a data.pkl"),
    "train-mineclip": ("steve1.mineclip.train", "train a MineCLIP of our own on captioned episode clips"),
    "embed": ("steve1.data.reembed", "recompute episodes' MineCLIP embeddings in place, another MineCLIP"),
    "prior-data": ("steve1.data.prior_pairs", "the prior's (text, visual) pairs from captioned clips"),
    "run-agent": ("steve1.run.prompt_video", "a video (+ metrics) of the agent following one prompt"),
    "paper-videos": ("steve1.run.paper_videos", "the paper's 11 text and visual prompt videos"),
    "interactive": ("steve1.run.interactive", "type prompts, watch the agent (window or headless)"),
    "evaluate": ("steve1.run.evaluate", "prompted vs unconditioned metrics, MineCLIP distances, plots"),
    "eval-report": ("steve1.eval.report", "summary table and plots from an episodes CSV"),
    "visual-prompts": ("steve1.eval.visual_prompts", "Minetest visual prompts: a 16-frame clip per skill"),
}


def say(message: str, error: bool = False) -> None:
    """What a verb tells its user directly: its final report (stdout) or its one-line error (stderr)."""
    print(message, file=sys.stderr if error else sys.stdout)


def _usage() -> str:
    from steve1 import __version__

    width = max(map(len, VERBS))
    usage = "usage: steve1 VERB [options]   (steve1 VERB --help for its options)"
    lines = [f"steve1 {__version__}", "", usage, ""]
    lines += [f"  {verb:<{width}}  {about}" for verb, (_, about) in VERBS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from steve1 import __version__

        print(f"steve1 {__version__}")
        return 0
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"steve1: error: unknown verb '{verb}' (verbs: {', '.join(VERBS)}; see steve1 --help)",
              file=sys.stderr)
        return 2
    module = importlib.import_module(VERBS[verb][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
