"""Every rule's conda environment names the third-party packages its script imports.

The fer4d modules a script runs are its import closure (``fer4d.codeversion.import_closure``);
imports guarded by ``except ImportError`` are optional and not required.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from fer4d.codeversion import import_closure

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAME = {"torch": "pytorch", "yaml": "pyyaml", "fast_simplification": "fast-simplification", "PIL": "pillow"}
ALTERNATIVES = {"cv2": {"opencv", "opencv-contrib-python"}}
"""Modules that either of several packages provides (conda-forge's opencv, or the pip wheel
mediapipe depends on)."""


def rule_scripts_and_envs() -> list[tuple[str, str, str]]:
    """(rule, script, env) for every rule in workflow/rules/*.smk."""
    found = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            name = block.split(":", 1)[0].strip()
            script = re.search(r'script:\s*\n\s*"\.\./scripts/(\w+\.py)"', block)
            env = re.search(r'conda:\s*\n\s*f"\{ENVS\}/(\w+)\.yaml"', block)
            if name != "all":
                found.append((name, script and script.group(1), env and env.group(1)))
    return found


def _optional(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            names = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if names & {"ImportError", "ModuleNotFoundError"}:
                return True
    return False


def third_party_imports(script: Path) -> set[str]:
    """Top-level third-party modules imported (non-optionally) by ``script`` and the fer4d code it
    runs (its import closure, as the rules' code versions see it)."""
    external: set[str] = set()
    for path in [script, *import_closure(script)]:
        tree = ast.parse(path.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            if _optional(node, parents):
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in {"fer4d", "snakemake", "__future__"}:
                    external.add(top)
    return external


def env_packages(env: str) -> set[str]:
    spec = yaml.safe_load((ROOT / "envs" / f"{env}.yaml").read_text())
    names = set()
    for dep in spec["dependencies"]:
        for entry in dep["pip"] if isinstance(dep, dict) else [dep]:
            names.add(re.split(r"[=<>! ]", entry, maxsplit=1)[0])
    return names


RULES = rule_scripts_and_envs()


def test_every_rule_has_a_script_and_an_env():
    assert len(RULES) >= 12
    for name, script, env in RULES:
        assert script and (ROOT / "workflow" / "scripts" / script).exists(), name
        assert env and (ROOT / "envs" / f"{env}.yaml").exists(), name


@pytest.mark.parametrize("rule,script,env", RULES, ids=[r[0] for r in RULES])
def test_env_names_what_the_stage_imports(rule, script, env):
    needed = {CONDA_NAME.get(m, m) for m in third_party_imports(ROOT / "workflow" / "scripts" / script)}
    provided = env_packages(env)
    missing = {m for m in needed if m not in provided and not ALTERNATIVES.get(m, set()) & provided}
    assert not missing, f"envs/{env}.yaml lacks {sorted(missing)} needed by rule {rule}"


def test_every_env_installs_fer4d():
    for env_file in sorted((ROOT / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        assert ".." in pip, env_file.name
        assert any(d == "python=3.11" for d in spec["dependencies"]), env_file.name
