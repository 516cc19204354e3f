"""A short hash of the library source a workflow stage depends on.

Snakemake reruns a rule when its params change but does not see the modules a script imports.
Each rule passes ``code_version("fitting", "flame")`` as a param, so editing those subpackages
reruns the stage and everything downstream, and nothing upstream. A dotted name such as
``"models.spiral"`` names a single module.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent


def code_version(*subpackages: str) -> str:
    """Hash every ``.py`` file of the named subpackages or modules of fer4d.

    ``code_version("fitting", "flame")`` → a 12-character hex digest that changes whenever any
    source file of ``fer4d.fitting`` or ``fer4d.flame`` changes.
    """
    digest = hashlib.sha256()
    for name in sorted(set(subpackages)):
        target = _PACKAGE_ROOT.joinpath(*name.split("."))
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
        if not files or not files[0].exists():
            raise ValueError(f"fer4d has no subpackage or module named {name!r}")
        for file in files:
            digest.update(str(file.relative_to(_PACKAGE_ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
