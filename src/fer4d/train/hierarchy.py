"""Stage ``hierarchy``: the decimation hierarchy and spirals of the store's template (the FLAME
model's own mesh), computed once per run for every fold's auto-encoder."""

from __future__ import annotations

import os

from fer4d.formats.hierarchy import write_hierarchy
from fer4d.formats.store import MeshStore
from fer4d.mesh import HierarchyOptions, MeshHierarchy, build_hierarchy


def build_hierarchy_file(
    store_path: str | os.PathLike, out_path: str | os.PathLike, options: HierarchyOptions
) -> MeshHierarchy:
    """The hierarchy of the store's template, written to ``out_path``."""
    with MeshStore(store_path) as store:
        hierarchy = build_hierarchy(store.template_vertices, store.template_faces, options)
    write_hierarchy(out_path, hierarchy)
    return hierarchy
