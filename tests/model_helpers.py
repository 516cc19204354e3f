"""A FLAME-format model file around a given template, for tests that build a store from fake fits
(the store takes its template from the model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer4d.flame import FlameModel, save_flame_npz


def template_model(path: Path, template: np.ndarray, faces: np.ndarray, shapedirs: np.ndarray | None = None) -> Path:
    """A ``.npz`` model (mm) whose template is ``template (V, 3)`` with ``faces (F, 3)``; identity
    directions ``shapedirs (V, 3, K)`` (default ten zero ones), no expression or pose directions
    worth the name (the store reads template, faces and identity directions)."""
    n_vertices, joints = len(template), 5
    model = FlameModel(
        v_template=np.asarray(template, np.float64),
        faces=np.asarray(faces, np.int32),
        shapedirs=np.zeros((n_vertices, 3, 10)) if shapedirs is None else np.asarray(shapedirs, np.float64),
        exprdirs=np.zeros((n_vertices, 3, 2)),
        posedirs=np.zeros((n_vertices, 3, 36)),
        J_regressor=np.full((joints, n_vertices), 1 / n_vertices),
        kintree_table=np.array([[-1, 0, 1, 1, 1], [0, 1, 2, 3, 4]]),
        weights=np.full((n_vertices, joints), 1 / joints),
    )
    return save_flame_npz(model, path)
