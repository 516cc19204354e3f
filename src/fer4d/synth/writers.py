"""Scan file writers: VRML 2.0 IndexedFaceSet as BU-4DFE ships it, OBJ, and PLY (via meshio).

All writers are atomic (``fer4d.atomic.atomic_path``) and take ``vertices: (N, 3)`` in the
scan's units and ``faces: (F, 3)`` int indices.
"""

from __future__ import annotations

import os
from pathlib import Path

import meshio
import numpy as np

from fer4d.atomic import atomic_path

SCAN_SUFFIXES = (".wrl", ".obj", ".ply")
"""File suffixes of the scan formats written here."""


def _rows(array: np.ndarray, fmt: str) -> str:
    """Format the rows of a 2-D array with ``fmt`` (one row per line) in one C-level ``%``."""
    return ((fmt + "\n") * len(array)) % tuple(array.ravel().tolist())


def cylindrical_texture_coordinates(vertices: np.ndarray) -> np.ndarray:
    """``(N, 2)`` texture coordinates in [0, 1] from a cylindrical unwrap around the y axis.

    Only there so that the files carry a ``texCoord`` block like BU-4DFE's; no image is written.
    """
    centred = vertices - vertices.mean(axis=0)
    angle = np.arctan2(centred[:, 0], centred[:, 2])
    u = (angle - angle.min()) / max(np.ptp(angle), 1e-12)
    v = (centred[:, 1] - centred[:, 1].min()) / max(np.ptp(centred[:, 1]), 1e-12)
    return np.stack([u, v], axis=1)


def format_vrml(vertices: np.ndarray, faces: np.ndarray, texture_name: str, digits: int) -> str:
    """VRML 2.0 text of one textured IndexedFaceSet inside a Transform, as in BU-4DFE files."""
    uv = cylindrical_texture_coordinates(vertices)
    index_rows = np.concatenate([faces, -np.ones((len(faces), 1), faces.dtype)], axis=1)
    points = _rows(vertices, f"%.{digits}f %.{digits}f %.{digits}f,")
    tex_points = _rows(uv, "%.5f %.5f,")
    indices = _rows(index_rows, "%d, %d, %d, %d,")
    return (
        "#VRML V2.0 utf8\n\n"
        "Transform {\n  children [\n    Shape {\n"
        "      appearance Appearance {\n"
        f'        texture ImageTexture {{ url "{texture_name}" }}\n'
        "      }\n"
        "      geometry IndexedFaceSet {\n"
        "        creaseAngle 3.0\n"
        "        coord Coordinate {\n          point [\n"
        f"{points}"
        "          ]\n        }\n"
        "        texCoord TextureCoordinate {\n          point [\n"
        f"{tex_points}"
        "          ]\n        }\n"
        "        coordIndex [\n"
        f"{indices}"
        "        ]\n"
        "        texCoordIndex [\n"
        f"{indices}"
        "        ]\n"
        "      }\n    }\n  ]\n}\n"
    )


def format_obj(vertices: np.ndarray, faces: np.ndarray, digits: int) -> str:
    """Wavefront OBJ text: ``v x y z`` lines, then 1-based ``f a b c`` lines."""
    points = _rows(vertices, f"v %.{digits}f %.{digits}f %.{digits}f")
    return points + _rows(faces + 1, "f %d %d %d")


def write_scan(path: str | os.PathLike, vertices: np.ndarray, faces: np.ndarray, units: str) -> None:
    """Write one scan; the format follows the suffix (``.wrl``, ``.obj`` or binary ``.ply``).

    ``units`` only sets the printed precision of text formats (micrometre resolution).
    """
    path = Path(path)
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    suffix = path.suffix.lower()
    if suffix == ".wrl":
        digits = 3 if units == "mm" else 6
        text = format_vrml(vertices, faces, path.with_suffix(".bmp").name, digits)
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    elif suffix == ".obj":
        text = format_obj(vertices, faces, digits=3 if units == "mm" else 6)
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    elif suffix == ".ply":
        mesh = meshio.Mesh(vertices.astype(np.float32), [("triangle", faces.astype(np.int32))])
        with atomic_path(path) as tmp:
            meshio.write(tmp, mesh, file_format="ply")
    else:
        raise ValueError(f"{path}: unsupported scan format {suffix!r} (use .wrl, .obj or .ply)")
