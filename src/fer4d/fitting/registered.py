"""Stage ``registered``: a sequence of meshes already in the model's topology → a fit file.

Datasets such as CoMA (Ranjan et al. 2018: twelve expression sequences per subject, registered
to FLAME's 5,023-vertex mesh) need no registration. Each frame is read (in the isolated reader
worker), checked against the model's topology — the same vertex count and the same triangles —
converted to millimetres and rigidly aligned to the model's template (robust Kabsch), so
that, as after a fit, ``vertices`` carry no head pose. The result is a fit file with the fit
stage's contract (``fer4d.formats.fit``) that the store reads unchanged, except that what only a
fit can have is absent, not zero: no ``params/*`` (no FLAME parameters: the
``flame_transformer`` baseline cannot run) and no ``quality/*`` (no scan-to-fit residual).
``vertices_scan`` holds the frames as read (mm, before the alignment).

A frame that cannot be read or has another topology is quarantined with its reason (``strict``:
raised); a sequence left with fewer than ``min_frames`` is written as an ``empty`` fit.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from fer4d.errors import Quarantine
from fer4d.fitting.geometry import kabsch
from fer4d.flame.files import load_flame
from fer4d.formats.fit import write_fit
from fer4d.formats.ingested import write_quarantine
from fer4d.io.clean import sequence_scale_to_mm, units_name
from fer4d.io.ingest import read_frames
from fer4d.io.layouts import list_frames
from fer4d.io.scan import Scan

log = logging.getLogger(__name__)


def triangle_set(faces: np.ndarray) -> np.ndarray:
    """(F, 3) triangles as sorted rows in sorted order: the same for the same triangles, whatever
    their order and the order of their corners."""
    rows = np.sort(np.asarray(faces, np.int64), axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def topology_problem(scan: Scan, n_vertices: int, model_triangles: np.ndarray) -> str | None:
    """Why ``scan`` is not a mesh of the model's topology (``model_triangles`` from
    :func:`triangle_set`), or None when it is."""
    if len(scan.vertices) != n_vertices:
        return (
            f"{len(scan.vertices)} vertices, the model has {n_vertices}: not in the model's topology "
            "(an OBJ with texture coordinates is read one vertex per face corner: export it as PLY)"
        )
    if len(scan.faces) != len(model_triangles) or not np.array_equal(triangle_set(scan.faces), model_triangles):
        return f"the triangles differ from the model's ({len(scan.faces)} faces, the model has {len(model_triangles)})"
    if not np.isfinite(scan.vertices).all():
        return "non-finite vertex coordinates"
    return None


def import_registered_sequence(
    frames: list[str | os.PathLike] | None,
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    quarantine_path: str | os.PathLike,
    subject: str,
    label: str,
    units: str = "auto",
    min_frames: int = 2,
    strict: bool = False,
    folder: str | os.PathLike | None = None,
    extension: str = "ply",
) -> dict:
    """Check, convert and align one registered sequence's mesh files (in order) → fit ``.h5`` +
    quarantine ``.json`` (see the module docstring).

    ``units``: ``auto`` (guessed from the median bounding box, as the ingest stage does), ``mm``,
    ``cm`` or ``m`` (CoMA's meshes are in metres). ``frames=None``: the ``extension`` files of
    ``folder``. Returns a summary: subject, label, status, frames, quarantined, units.
    """
    if frames is None:
        if folder is None:
            raise ValueError("import_registered_sequence needs the frames or their folder")
        frames = list_frames(Path(folder), extension) if Path(folder).is_dir() else []
    frames = [Path(p) for p in frames]
    folder = Path(folder) if folder is not None else frames[0].parent if frames else Path(out_path).parent
    model = load_flame(model_path)
    template = model.v_template.astype(np.float64)
    model_triangles = triangle_set(model.faces)
    quarantine = Quarantine(strict)
    kept: list[tuple[int, np.ndarray]] = []
    for index, path, scan in read_frames(frames, quarantine, "registered: reading meshes"):
        problem = topology_problem(scan, len(template), model_triangles)
        if problem is not None:
            quarantine.add(path, problem)
        else:
            kept.append((index, scan.vertices.astype(np.float64)))
    scale = sequence_scale_to_mm(units, [vertices for _, vertices in kept])
    if not frames:
        quarantine.add(folder, "no mesh files in this sequence folder")
    elif len(kept) < min_frames:
        quarantine.add(folder, f"only {len(kept)} usable frame(s); a sequence needs at least {min_frames}")
    if len(kept) < min_frames:
        kept = []
    as_read = np.array([v * scale for _, v in kept], np.float32).reshape(-1, len(template), 3)
    aligned = np.array([_aligned(v, template) for v in as_read], np.float32).reshape(as_read.shape)
    arrays = {
        "vertices": aligned,
        "vertices_scan": as_read,
        "faces": model.faces.astype(np.int32),
        "frame_index": np.array([index for index, _ in kept], np.int32),
    }
    status = "ok" if kept else "empty"
    reason = None if kept else "no usable registered frames (see the quarantine)"
    write_fit(out_path, arrays, subject, label, status, reason=reason)
    write_quarantine(quarantine_path, quarantine.items)
    summary = {
        "subject": subject,
        "label": label,
        "status": status,
        "frames": len(kept),
        "quarantined": len(quarantine.items),
        "units": units_name(scale),
    }
    log.info("registered %s/%s: %s", subject, label, json.dumps(summary))
    return summary


def robust_alignment(vertices: np.ndarray, template: np.ndarray, iterations: int = 5) -> np.ndarray:
    """The rigid (4, 4) that best fits ``vertices (V, 3)`` mm onto ``template (V, 3)`` mm, robust
    to where they differ (the expression, the identity): Kabsch in iteratively reweighted least
    squares with Cauchy weights at 1.4826 × the median residual (at least 0.1 mm), so that a
    deformed mouth does not tilt the whole head."""
    transform = kabsch(vertices, template)
    for _ in range(iterations):
        residual = np.linalg.norm(vertices @ transform[:3, :3].T + transform[:3, 3] - template, axis=1)
        scale = max(1.4826 * float(np.median(residual)), 0.1)
        transform = kabsch(vertices, template, 1.0 / (1.0 + (residual / scale) ** 2))
    return transform


def _aligned(vertices: np.ndarray, template: np.ndarray) -> np.ndarray:
    """``vertices (V, 3)`` mm moved by :func:`robust_alignment` onto ``template``."""
    transform = robust_alignment(vertices.astype(np.float64), template)
    return vertices @ transform[:3, :3].T + transform[:3, 3]
