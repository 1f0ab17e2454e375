"""The `steve1` command: one verb per job, used by the numbered shell scripts."""
from __future__ import annotations

import argparse
import sys

from steve1 import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="steve1", description=__doc__)
    parser.add_argument("--version", action="version", version=f"steve1 {__version__}")
    parser.add_subparsers(dest="verb", metavar="VERB")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 0
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
