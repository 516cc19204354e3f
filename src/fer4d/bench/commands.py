"""``fer4d bench NAME``: every module in ``fer4d.bench`` with a ``register`` function is a benchmark."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import fer4d.bench


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="run a benchmark; last line of output is JSON")
    names = bench.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for info in sorted(pkgutil.iter_modules(fer4d.bench.__path__), key=lambda m: m.name):
        if info.name == "commands":
            continue
        module = importlib.import_module(f"fer4d.bench.{info.name}")
        if hasattr(module, "register"):
            module.register(names)
