"""The ``fer4d`` command line.

Each subpackage that offers commands has a ``commands`` module with
``register(subparsers)``; it adds its parsers and sets ``func(args) -> int`` on them. This file
only discovers those modules, parses, and turns input errors into one-line messages.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

from fer4d import __version__
from fer4d.errors import InputFileError
from fer4d.logs import configure_logging
from fer4d.threads import single_thread_blas

COMMAND_PACKAGES = ("flame", "synth", "io", "landmarks", "fitting", "store", "mesh", "train", "report", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fer4d", description="Dynamic 3D facial expression recognition pipeline.")
    parser.add_argument("--version", action="version", version=f"fer4d {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for package in COMMAND_PACKAGES:
        name = f"fer4d.{package}.commands"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(level=logging.DEBUG if args.verbose else logging.INFO)
    single_thread_blas()
    try:
        return int(args.func(args) or 0)
    except InputFileError as err:
        print(f"fer4d: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
