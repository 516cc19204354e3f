"""The ``fit_landmarks`` stage: landmark ``.h5`` (stage ``landmarks``) → fit ``.h5``, the same
contract as the scan fit's, so that the store and everything after it are unchanged.

The model's embedding of the detector's points (``fer4d.flame.files.detector_embedding_path_for``:
the project's calibrated ``<stem>_mediapipe.npz`` or FLAME's official
``mediapipe_landmark_embedding.npz``) says which detected point lies where on the mesh; a model
without one stops the stage with an error naming the missing file. The frames with a face are
fitted (``fer4d.fitting.landmarks``); their quality is the landmark residual in pixels and as a
fraction of the inter-ocular distance (outer eye corners, MediaPipe points 33 and 263).
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np

from fer4d.errors import InputFileError
from fer4d.fitting.landmarks import LandmarkFitOptions, face_sizes, fit_landmarks
from fer4d.fitting.stage import empty_arrays
from fer4d.flame.files import detector_embedding_path_for, load_detector_embedding, load_flame
from fer4d.formats.fit import write_fit
from fer4d.formats.landmarks import read_landmarks

log = logging.getLogger(__name__)

OUTER_EYE_CORNERS = (33, 263)
"""MediaPipe Face Mesh's outer eye corners (the image's left and right)."""
LANDMARK_QUALITY_KEYS = ("landmark_residual_px", "landmark_residual_p90_px", "landmark_residual_iod", "flagged")
"""Per-frame quality of a landmark fit (the scan fit's are ``fer4d.fitting.sequence.QUALITY_KEYS``)."""


def interocular_px(points: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """(T,) distance between the outer eye corners of ``points (T, L, 2)`` px, whose column ``l``
    is detector point ``indices[l]``; the landmark bounding-box diagonal where the embedding lacks
    the corners (:func:`fer4d.fitting.landmarks.face_sizes`)."""
    where = {int(point): column for column, point in enumerate(indices)}
    if all(corner in where for corner in OUTER_EYE_CORNERS):
        left, right = (where[corner] for corner in OUTER_EYE_CORNERS)
        return np.linalg.norm(points[:, left] - points[:, right], axis=1)
    return face_sizes(points)


def _empty_fit(out_path, model, n_shape: int, n_expr: int, subject: str, label: str, reason: str) -> None:
    arrays = empty_arrays(model, n_shape, n_expr, LANDMARK_QUALITY_KEYS)
    del arrays["params/scan_to_model"]  # a landmark fit has a camera per frame instead
    arrays["params/camera"] = np.zeros((0, 3), np.float32)
    write_fit(out_path, arrays, subject, label, "empty", reason=reason)


def fit_landmark_file(
    in_path: str | os.PathLike,
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    options: LandmarkFitOptions | None = None,
    strict: bool = False,
) -> dict:
    """Fit FLAME to the landmark file at ``in_path`` and write the fit ``.h5`` to ``out_path``.
    Returns a summary: subject, label, status, n_frames, and for a fit the median landmark
    residual (px and fraction of the inter-ocular distance) and the flagged frame count.

    ``vertices_scan`` holds the posed meshes (head rotation kept, mm) and ``params/camera (T, 3)``
    the weak-perspective camera that maps them to pixels (``x = s·X + tx``, ``y = −s·Y + ty``).
    A sequence with fewer than two frames with a face, or whose fit fails, is written as an
    ``empty`` fit with its reason (``strict``: raised as an InputFileError naming ``in_path``).
    """
    options = options or LandmarkFitOptions()
    sequence = read_landmarks(in_path)
    model = load_flame(model_path)
    embedding = detector_embedding_path_for(model_path)
    if not embedding.exists():
        raise InputFileError(
            embedding,
            "missing: the model has no embedding of the detector's points (for the synthetic model: "
            f"fer4d flame embed-detector --model {model_path}; for FLAME: its mediapipe_landmark_embedding.npz)",
        )
    face_idx, b_coords, indices = load_detector_embedding(embedding)
    if indices.max() >= sequence.points.shape[1]:
        raise InputFileError(
            embedding, f"refers to detector point {indices.max()}, the landmarks have {sequence.points.shape[1]}"
        )
    n_shape = min(options.n_shape, model.shapedirs.shape[2])
    n_expr = min(options.n_expr, model.exprdirs.shape[2])
    rows = np.flatnonzero(sequence.valid)
    summary = {"subject": sequence.subject, "label": sequence.label, "n_frames": len(rows)}
    reason = None
    if sequence.status == "empty" or len(rows) < 2:
        reason = f"only {len(rows)} frame(s) with a face (see the landmarks quarantine)"
    else:
        points = sequence.points[rows][:, indices, :2].astype(np.float64)
        try:
            fit = fit_landmarks(points, model, face_idx, b_coords, options)
        except (ValueError, ArithmeticError, RuntimeError) as err:
            reason = f"landmark fit failed: {err}"
    if reason is not None:
        if strict:
            raise InputFileError(in_path, reason)
        log.error("%s: %s; writing an empty fit", in_path, reason)
        _empty_fit(out_path, model, n_shape, n_expr, sequence.subject, sequence.label, reason)
        return {**summary, "status": "empty", "reason": reason}
    residual = fit.residual_px
    per_frame = np.median(residual, axis=1)
    relative = per_frame / interocular_px(points, indices)
    flagged = relative > options.flag_iod
    arrays = {
        "vertices": fit.vertices,
        "vertices_scan": fit.posed,
        "faces": model.faces.astype(np.int32),
        "frame_index": rows.astype(np.int32),
        "params/shape": fit.shape,
        "params/expression": fit.expression,
        "params/pose": fit.pose,
        "params/translation": np.zeros((len(rows), 3), np.float32),
        "params/camera": fit.camera,
        "quality/landmark_residual_px": per_frame.astype(np.float32),
        "quality/landmark_residual_p90_px": np.percentile(residual, 90, axis=1).astype(np.float32),
        "quality/landmark_residual_iod": relative.astype(np.float32),
        "quality/flagged": flagged,
    }
    write_fit(out_path, arrays, sequence.subject, sequence.label, "ok")
    summary.update(
        status="ok",
        landmark_residual_px=round(float(np.median(per_frame)), 3),
        landmark_residual_iod=round(float(np.median(relative)), 4),
        n_flagged=int(flagged.sum()),
    )
    log.info("fit landmarks %s/%s: %s", sequence.subject, sequence.label, json.dumps(summary))
    return summary
