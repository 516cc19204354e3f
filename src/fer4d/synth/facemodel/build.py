"""Write the synthetic face as a FLAME-format model pickle (metres) plus a 68-point landmark
embedding, so that ``load_flame`` and ``FlameLayer`` serve it exactly like FLAME."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import scipy.sparse

from fer4d.atomic import atomic_path
from fer4d.flame.files import landmarks_path_for
from fer4d.synth.facemodel.expressions import expression_directions
from fer4d.synth.facemodel.geometry import face_mesh_with_about
from fer4d.synth.facemodel.identity import identity_directions
from fer4d.synth.facemodel.landmarks import landmark_embedding
from fer4d.synth.facemodel.rig import JOINTS_MM, KINTREE_TABLE, joint_regressor, pose_correctives, skinning_weights

N_SHAPE_COLUMNS = 300
N_EXPR_COLUMNS = 100
"""Column layout of FLAME 2020 / 2023 shapedirs: 300 identity, then 100 expression."""
MM_TO_M = 1e-3


def _write_pickle(data: dict, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        pickle.dump(data, handle, protocol=2)


def make_synthetic_flame(
    path: str | os.PathLike, n_vertices: int = 1500, seed: int = 0, landmarks_path: str | os.PathLike | None = None
) -> Path:
    """Write the synthetic FLAME-format model to ``path`` and its landmarks; return ``path``.

    The pickle has exactly FLAME's keys (v_template, f, shapedirs (V, 3, 400) with identity in
    columns 0..299 and expression in 300..399, posedirs (V, 3, 36), J_regressor (5, V) as
    scipy.sparse.csc_matrix, kintree_table, weights), in metres. Only the first
    ``len(identity components)`` / ``len(EXPRESSION_COMPONENTS)`` columns of each block are
    non-zero. The mesh has exactly ``n_vertices`` vertices (≥ ~200; FLAME's is 5023).
    ``landmarks_path`` defaults to ``<stem>_landmarks.pkl`` beside ``path``.
    The same ``seed`` gives the same files.
    """
    mesh = face_mesh_with_about(n_vertices)
    identity = identity_directions(mesh, seed)
    expression = expression_directions(mesh)
    shapedirs = np.zeros((len(mesh.vertices), 3, N_SHAPE_COLUMNS + N_EXPR_COLUMNS))
    shapedirs[:, :, : identity.shape[2]] = identity
    shapedirs[:, :, N_SHAPE_COLUMNS : N_SHAPE_COLUMNS + expression.shape[2]] = expression
    regressor = joint_regressor(mesh.vertices, JOINTS_MM)
    model = {
        "v_template": mesh.vertices * MM_TO_M,
        "f": mesh.faces.astype(np.uint32),
        "shapedirs": shapedirs * MM_TO_M,
        "posedirs": pose_correctives(mesh) * MM_TO_M,
        "J_regressor": scipy.sparse.csc_matrix(regressor),
        "kintree_table": KINTREE_TABLE,
        "weights": skinning_weights(mesh),
    }
    path = Path(path)
    _write_pickle(model, path)
    face_idx, b_coords = landmark_embedding(mesh)
    landmarks_path = Path(landmarks_path) if landmarks_path else landmarks_path_for(path)
    _write_pickle({"lmk_face_idx": face_idx, "lmk_b_coords": b_coords}, landmarks_path)
    return path
