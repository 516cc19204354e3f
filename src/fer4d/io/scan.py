"""A triangle-mesh scan as plain arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scan:
    """vertices: (N, 3) float32 (file units until cleaned, then mm); faces: (F, 3) int32."""

    vertices: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32).reshape(-1, 3)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int32).reshape(-1, 3)
