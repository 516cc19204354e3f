"""The package layering of docs/architecture.md, enforced: every fer4d import goes downwards.

Layers, bottom to top: shared utilities; the model math (``flame``, ``mesh``, ``models``); the
file formats; the stages in data-flow order (``synth``, ``io``, ``fitting``, ``store``,
``train``, ``report``); the benchmarks; the command line. A module may import its own package
and anything in a lower layer, never a higher layer, and never a sibling package of its own
layer. Imports are read from the source (``ast``), including those inside functions.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fer4d"

LAYERS: list[tuple[str, list[str]]] = [
    (
        "utilities",
        [
            "fer4d",
            "fer4d.atomic",
            "fer4d.checkpoint",
            "fer4d.codeversion",
            "fer4d.device",
            "fer4d.errors",
            "fer4d.labels",
            "fer4d.logs",
            "fer4d.options",
            "fer4d.parallel",
            "fer4d.progress",
            "fer4d.render",
        ],
    ),
    ("model", ["fer4d.flame", "fer4d.mesh", "fer4d.models"]),
    ("formats", ["fer4d.formats"]),
    ("synth", ["fer4d.synth"]),
    ("io", ["fer4d.io"]),
    ("landmarks", ["fer4d.landmarks"]),
    ("fitting", ["fer4d.fitting"]),
    ("store", ["fer4d.store"]),
    ("train", ["fer4d.train"]),
    ("report", ["fer4d.report"]),
    ("bench", ["fer4d.bench"]),
    ("interface", ["fer4d.cli", "fer4d.configschema", "*.commands"]),
]
"""(layer, units) from the bottom up. A unit is a module or a package; ``*.commands`` is every
package's CLI module. The utilities are one unit: they may use each other."""

SHARED_UNIT_LAYERS = {"utilities"}


def module_name(path: Path) -> str:
    parts = ["fer4d", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> tuple[int, str]:
    """(layer index, unit) of a fer4d module: the longest unit that contains it."""
    if module.endswith(".commands"):
        return len(LAYERS) - 1, module
    best = None
    for index, (_, units) in enumerate(LAYERS):
        for unit in units:
            if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best[1])):
                best = (index, unit)
    if best is None:
        raise AssertionError(f"{module} is in no layer of tests/test_layering.py: add it to LAYERS (and the docs)")
    return best


def fer4d_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "fer4d")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "fer4d":
            found.add(node.module)
    return found


def violations(path: Path) -> list[str]:
    """Every import of ``path`` against the layering, as ``"a -> b (why)"``."""
    here = module_name(path)
    layer, unit = unit_of(here)
    problems = []
    for target in sorted(fer4d_imports(path)):
        other_layer, other_unit = unit_of(target)
        if other_unit == unit or other_layer < layer:
            continue
        if other_layer == layer and LAYERS[layer][0] in SHARED_UNIT_LAYERS:
            continue
        why = "a higher layer" if other_layer > layer else "a sibling package of the same layer"
        problems.append(f"{here} -> {target} ({why}: {LAYERS[other_layer][0]})")
    return problems


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_follow_the_layering(path):
    assert violations(path) == []


def test_the_check_catches_an_upward_and_a_sideways_import(tmp_path, monkeypatch):
    """A model-layer module importing a stage or a sibling model package is reported."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from fer4d.store import MeshStore\nfrom fer4d.flame import load_flame\nfrom fer4d.atomic import write_json\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "module_name", lambda path: "fer4d.mesh.probe")
    assert violations(probe) == [
        "fer4d.mesh.probe -> fer4d.flame (a sibling package of the same layer: model)",
        "fer4d.mesh.probe -> fer4d.store (a higher layer: store)",
    ]


def test_every_package_is_placed():
    packages = {module_name(p) for p in SRC.rglob("__init__.py")}
    for package in packages:
        unit_of(package)
