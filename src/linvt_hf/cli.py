"""The `linvt-hf` console script.

Each subcommand lives in its own module under linvt_hf.commands and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the parsed arguments,
returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand modules, in the order --help lists them.
COMMAND_MODULES: tuple[str, ...] = ("tour", "ask", "chat", "visualize", "shots", "demo", "convert")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linvt-hf",
        description="LinVT: turn an image-LLM into a video-LLM (arXiv 2412.05185).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"linvt_hf.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as error:
        # Bad input: one clear line, no traceback.
        print(f"linvt-hf {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
