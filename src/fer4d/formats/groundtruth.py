"""Ground-truth file of one synthetic sequence (``ground_truth.h5``, written by stage
``synthesize``, see docs/architecture.md): ``write_ground_truth`` and ``read_ground_truth``."""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError


@dataclass(frozen=True)
class GroundTruth:
    """What generated a sequence.

    ``vertices (T, V, 3)`` float32 mm in the scan's frame; ``vertices_canonical (T, V, 3)``
    float32 mm in the model frame without head motion; ``shape (n_shape,)``, ``expression
    (T, n_expr)``, ``pose (T, 5, 3)`` axis-angle, ``translation (T, 3)`` mm; ``scan_rotation
    (3, 3)`` and ``scan_translation (3,)`` mm map the model frame to the scanner's;
    ``units`` of the scan files ("mm" or "m").
    """

    subject: str
    label: str
    vertices: np.ndarray
    vertices_canonical: np.ndarray
    shape: np.ndarray
    expression: np.ndarray
    pose: np.ndarray
    translation: np.ndarray
    scan_rotation: np.ndarray
    scan_translation: np.ndarray
    units: str

    def ingested_rows(self) -> dict[str, np.ndarray]:
        """The arrays an ingested sequence keeps under ``ground_truth/``, by their names there:
        per frame (T rows) ``vertices``, ``vertices_canonical``, ``params/expression``,
        ``params/pose``, ``params/translation``; per sequence ``params/shape``."""
        return {
            "vertices": self.vertices,
            "vertices_canonical": self.vertices_canonical,
            "params/expression": self.expression,
            "params/pose": self.pose,
            "params/translation": self.translation,
            "params/shape": self.shape,
        }


def write_ground_truth(path: str | os.PathLike, truth: GroundTruth) -> None:
    """Write ``truth`` to ``path`` atomically, vertices chunked per frame and compressed."""
    n_vertices = truth.vertices.shape[1]
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name in ("vertices", "vertices_canonical"):
            f.create_dataset(
                name,
                data=getattr(truth, name).astype(np.float32),
                chunks=(1, n_vertices, 3),
                compression="gzip",
                compression_opts=4,
            )
        f["params/shape"] = truth.shape.astype(np.float32)
        f["params/expression"] = truth.expression.astype(np.float32)
        f["params/pose"] = truth.pose.astype(np.float32)
        f["params/translation"] = truth.translation.astype(np.float32)
        f.attrs["subject"] = truth.subject
        f.attrs["label"] = truth.label
        f.attrs["scan_rotation"] = truth.scan_rotation.astype(np.float64)
        f.attrs["scan_translation"] = truth.scan_translation.astype(np.float64)
        f.attrs["units"] = truth.units


def read_ground_truth(path: str | os.PathLike) -> GroundTruth:
    """Read a ``ground_truth.h5``; a missing key raises ``InputFileError`` naming it."""
    try:
        with h5py.File(path, "r") as f:
            return GroundTruth(
                subject=str(f.attrs["subject"]),
                label=str(f.attrs["label"]),
                vertices=f["vertices"][()],
                vertices_canonical=f["vertices_canonical"][()],
                shape=f["params/shape"][()],
                expression=f["params/expression"][()],
                pose=f["params/pose"][()],
                translation=f["params/translation"][()],
                scan_rotation=np.asarray(f.attrs["scan_rotation"]),
                scan_translation=np.asarray(f.attrs["scan_translation"]),
                units=str(f.attrs["units"]),
            )
    except (OSError, KeyError) as err:
        raise InputFileError(path, f"not a readable ground-truth file ({err})") from err
