"""The FLAME model as plain NumPy arrays in millimetres, and its fast ``.npz`` form.

FLAME: Li, Bolkart, Black, Li, Romero, "Learning a model of facial shape and expression from
4D scans", SIGGRAPH Asia 2017.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError

N_JOINTS = 5
"""FLAME's joints: global (neck base), neck, jaw, left eye, right eye."""
N_POSE_FEATURES = 9 * (N_JOINTS - 1)
"""Pose-corrective features: (R - I) of the 4 non-root joints, flattened."""


@dataclass
class FlameModel:
    """A FLAME-topology model; every length in millimetres.

    v_template: (V, 3) float64, mm.
    faces: (F, 3) int32.
    shapedirs: (V, 3, n_shape_total) float64, mm per unit identity coefficient.
    exprdirs: (V, 3, n_expr_total) float64, mm per unit expression coefficient.
    posedirs: (V, 3, 36) float64, mm per unit of (R_j - I) entry, joints 1..4 in order.
    J_regressor: (5, V) float64, dense; joints = J_regressor @ vertices.
    kintree_table: (2, 5) int64; row 0 holds each joint's parent (root: any negative / large).
    weights: (V, 5) float64 linear-blend-skinning weights, rows sum to 1.
    lmk_face_idx: (L,) int64 or None; triangle index of each landmark.
    lmk_b_coords: (L, 3) float64 or None; barycentric coordinates in that triangle.
    """

    v_template: np.ndarray
    faces: np.ndarray
    shapedirs: np.ndarray
    exprdirs: np.ndarray
    posedirs: np.ndarray
    J_regressor: np.ndarray
    kintree_table: np.ndarray
    weights: np.ndarray
    lmk_face_idx: np.ndarray | None = None
    lmk_b_coords: np.ndarray | None = None

    @property
    def n_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def parents(self) -> np.ndarray:
        """(5,) int64 parent index per joint, -1 for the root."""
        parents = np.asarray(self.kintree_table[0], dtype=np.int64).copy()
        parents[0] = -1
        return parents

    def neutral(self, shape: np.ndarray) -> np.ndarray:
        """The subject's neutral mesh ``(V, 3)`` float64 mm: the template plus the identity
        blendshapes of ``shape (n_shape,)`` (the first ``n_shape`` components), no expression and
        no pose. It is what the FLAME layer gives for zero expression and pose, so a fitted frame
        minus it is that frame's expression (and jaw, neck, eye pose) displacement."""
        shape = np.asarray(shape, np.float64).reshape(-1)
        if len(shape) > self.shapedirs.shape[2]:
            raise ValueError(f"{len(shape)} shape coefficients: the model has {self.shapedirs.shape[2]}")
        return self.v_template + self.shapedirs[:, :, : len(shape)] @ shape

    def validate(self, path: str | os.PathLike) -> None:
        """Raise InputFileError naming ``path`` if the arrays do not fit together."""
        n_vertices = self.v_template.shape[0]
        expected = {
            "v_template": (n_vertices, 3),
            "shapedirs": (n_vertices, 3, None),
            "exprdirs": (n_vertices, 3, None),
            "posedirs": (n_vertices, 3, N_POSE_FEATURES),
            "J_regressor": (N_JOINTS, n_vertices),
            "kintree_table": (2, N_JOINTS),
            "weights": (n_vertices, N_JOINTS),
        }
        for name, shape in expected.items():
            actual = getattr(self, name).shape
            if len(actual) != len(shape) or any(want is not None and want != got for want, got in zip(shape, actual)):
                raise InputFileError(path, f"{name} has shape {actual}, expected {shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise InputFileError(path, f"faces have shape {self.faces.shape}, expected (F, 3)")
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= n_vertices):
            raise InputFileError(path, "faces index vertices that do not exist")
        if (self.lmk_face_idx is None) != (self.lmk_b_coords is None):
            raise InputFileError(path, "landmark face indices and barycentric coords come together")
        if self.lmk_face_idx is not None:
            if self.lmk_b_coords.shape != (len(self.lmk_face_idx), 3):
                raise InputFileError(path, f"lmk_b_coords shape {self.lmk_b_coords.shape}")
            if self.lmk_face_idx.min() < 0 or self.lmk_face_idx.max() >= len(self.faces):
                raise InputFileError(path, "landmark face indices out of range")


def save_flame_npz(model: FlameModel, path: str | os.PathLike) -> Path:
    """Write ``model`` (mm) as an uncompressed ``.npz`` that ``load_flame`` reads fast."""
    arrays = {f.name: getattr(model, f.name) for f in fields(model)}
    arrays = {name: value for name, value in arrays.items() if value is not None}
    arrays["units"] = np.array("mm")
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def load_flame_npz(path: str | os.PathLike) -> FlameModel:
    """Read a file written by ``save_flame_npz``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as err:
        raise InputFileError(path, f"not a readable .npz file ({err})") from err
    if str(arrays.pop("units", "")) != "mm":
        raise InputFileError(path, "not a fer4d FLAME .npz (missing units='mm')")
    names = {f.name for f in fields(FlameModel)}
    missing = {name for name in names if not name.startswith("lmk_")} - set(arrays)
    if missing:
        raise InputFileError(path, f"missing arrays {sorted(missing)}")
    model = FlameModel(**{k: v for k, v in arrays.items() if k in names})
    model.validate(path)
    return model
