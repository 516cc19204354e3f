"""A short hash of the library source a workflow stage really runs: its script's import closure.

Snakemake reruns a rule when its params change but does not see the modules a script imports.
Each rule passes ``code_version(its script)`` as a param: the hash of every ``fer4d`` module the script imports, directly or through the modules it
imports, found by reading the source (``ast``) — nothing is imported, and no list is kept by
hand. Editing a module that only fitting uses therefore reruns ``fit`` and what depends on it,
and nothing upstream.

The closure is what Python executes: importing ``fer4d.a.b`` runs ``fer4d/__init__.py`` and
``fer4d/a/__init__.py`` first, so those files are part of it, and so is every import in a
function body (a lazy import still runs when the stage does).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "fer4d"
_PACKAGE_ROOT = Path(__file__).resolve().parent


def module_file(module: str, root: Path = _PACKAGE_ROOT) -> Path | None:
    """The source file of a ``fer4d`` module (``fer4d.io.layouts`` → ``io/layouts.py``), or None."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _module_name(file: Path, root: Path) -> str:
    parts = [PACKAGE, *file.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(file: Path, root: Path = _PACKAGE_ROOT) -> set[str]:
    """Every ``fer4d`` module that ``file`` imports anywhere in its body, with the packages above
    each one (which Python runs first). ``from fer4d.x import y`` counts ``fer4d.x.y`` when ``y``
    is a submodule."""
    tree = ast.parse(file.read_text(), filename=str(file))
    inside = file.is_relative_to(root)
    package = _module_name(file, root).rsplit(".", 1)[0] if inside and file.name != "__init__.py" else None
    if inside and file.name == "__init__.py":
        package = _module_name(file, root)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if package is None:
                    continue
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    modules = set()
    for name in found:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if module_file(prefix, root) is not None:
                modules.add(prefix)
    return modules


def import_closure(file: Path, root: Path = _PACKAGE_ROOT) -> list[Path]:
    """The source files of every ``fer4d`` module that running ``file`` imports, sorted."""
    seen: set[Path] = set()
    pending = [file]
    while pending:
        current = pending.pop()
        for module in imported_modules(current, root):
            source = module_file(module, root)
            if source not in seen:
                seen.add(source)
                pending.append(source)
    return sorted(seen)


@cache
def code_version(script: str | Path) -> str:
    """A 12-character hex digest of the import closure of the workflow script at ``script``.

    It changes whenever any ``fer4d`` source file that the script runs changes, and only then.
    """
    path = Path(script)
    if not path.is_file():
        raise ValueError(f"{path}: no such workflow script")
    digest = hashlib.sha256()
    for file in import_closure(path):
        digest.update(str(file.relative_to(_PACKAGE_ROOT)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
