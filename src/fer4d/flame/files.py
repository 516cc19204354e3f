"""Reading FLAME model files (``generic_model.pkl``, ``flame2023.pkl``, our ``.npz``) and
landmark embeddings (``flame_static_embedding.pkl``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError
from fer4d.flame.model import FlameModel, load_flame_npz
from fer4d.flame.unpickle import restricted_load, to_numpy

FLAME_KEYS = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights")
"""The keys every FLAME model pickle holds (and that ``make_synthetic_flame`` writes)."""
METRES_EXTENT_LIMIT = 5.0
"""A template whose bounding box is smaller than this (in file units) is taken to be in metres."""


def guess_scale_to_mm(v_template: np.ndarray) -> float:
    """1000 when ``v_template (V, 3)`` looks like metres (a head < 5 units across), else 1."""
    extent = float(np.ptp(v_template, axis=0).max())
    return 1000.0 if extent < METRES_EXTENT_LIMIT else 1.0


def landmarks_path_for(model_path: str | os.PathLike) -> Path:
    """The conventional landmark file beside a model: ``<stem>_landmarks.pkl``."""
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}_landmarks.pkl")


def load_landmark_embedding(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``lmk_face_idx (L,) int64`` and ``lmk_b_coords (L, 3) float64`` from a pkl or npz."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                content = {name: data[name] for name in data.files}
        except (OSError, ValueError) as err:
            raise InputFileError(path, f"not a readable .npz file ({err})") from err
    else:
        content = restricted_load(path)
    if not isinstance(content, dict) or not {"lmk_face_idx", "lmk_b_coords"} <= set(content):
        raise InputFileError(path, "landmark embedding needs keys lmk_face_idx and lmk_b_coords")
    face_idx = to_numpy(content["lmk_face_idx"]).astype(np.int64).reshape(-1)
    b_coords = to_numpy(content["lmk_b_coords"]).astype(np.float64)
    if b_coords.shape != (len(face_idx), 3):
        raise InputFileError(path, f"lmk_b_coords has shape {b_coords.shape}, expected ({len(face_idx)}, 3)")
    return face_idx, b_coords


DETECTOR_EMBEDDING = "mediapipe_landmark_embedding.npz"
"""FLAME's official embedding of MediaPipe's face-mesh points (105 of them), beside the real model."""


def detector_embedding_path_for(model_path: str | os.PathLike) -> Path:
    """Where a model's embedding of the detector's points is: ``<stem>_mediapipe.npz`` beside it
    (the project's calibrated one, ``fer4d flame embed-detector``), else FLAME's official
    :data:`DETECTOR_EMBEDDING` in the same folder; the first name when neither exists."""
    model_path = Path(model_path)
    own = model_path.with_name(f"{model_path.stem}_mediapipe.npz")
    official = model_path.with_name(DETECTOR_EMBEDDING)
    return official if not own.exists() and official.exists() else own


def load_detector_embedding(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``lmk_face_idx (L,)``, ``lmk_b_coords (L, 3)`` and ``landmark_indices (L,)`` (which detector
    point each is) from an ``.npz`` in the layout of FLAME's official MediaPipe embedding; loaded
    without pickles."""
    face_idx, b_coords = load_landmark_embedding(path)
    with np.load(path, allow_pickle=False) as data:
        if "landmark_indices" not in data.files:
            raise InputFileError(path, "a detector embedding needs landmark_indices (the detector's point numbers)")
        indices = data["landmark_indices"].astype(np.int64).reshape(-1)
    if len(indices) != len(face_idx):
        raise InputFileError(path, f"{len(indices)} landmark_indices for {len(face_idx)} embedded points")
    return face_idx, b_coords, indices


def save_detector_embedding(
    path: str | os.PathLike, face_idx: np.ndarray, b_coords: np.ndarray, landmark_indices: np.ndarray
) -> Path:
    """Write a detector embedding (:func:`load_detector_embedding`'s layout) atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            lmk_face_idx=np.asarray(face_idx, np.int64),
            lmk_b_coords=np.asarray(b_coords, np.float64),
            landmark_indices=np.asarray(landmark_indices, np.int64),
        )
    return Path(path)


def _model_from_pickle(path: Path, n_shape_total: int) -> FlameModel:
    content = restricted_load(path)
    if not isinstance(content, dict):
        raise InputFileError(path, f"expected a dict of arrays, found {type(content).__name__}")
    missing = [key for key in FLAME_KEYS if key not in content]
    if missing:
        raise InputFileError(path, f"not a FLAME model: missing keys {missing}")
    try:
        arrays = {key: to_numpy(content[key]) for key in FLAME_KEYS}
    except (ValueError, TypeError) as err:
        raise InputFileError(path, f"unusable model arrays: {err}") from err
    v_template = arrays["v_template"].astype(np.float64)
    if v_template.ndim != 2 or v_template.shape[1] != 3:
        raise InputFileError(path, f"v_template has shape {v_template.shape}, expected (V, 3)")
    scale = guess_scale_to_mm(v_template)
    blendshapes = arrays["shapedirs"].astype(np.float64) * scale
    if blendshapes.ndim != 3:
        raise InputFileError(path, f"shapedirs has shape {blendshapes.shape}, expected (V, 3, K)")
    return FlameModel(
        v_template=v_template * scale,
        faces=arrays["f"].astype(np.int32),
        shapedirs=blendshapes[:, :, :n_shape_total],
        exprdirs=blendshapes[:, :, n_shape_total:],
        posedirs=arrays["posedirs"].astype(np.float64) * scale,
        J_regressor=arrays["J_regressor"].astype(np.float64),
        kintree_table=arrays["kintree_table"].astype(np.int64),
        weights=arrays["weights"].astype(np.float64),
    )


def load_flame(
    path: str | os.PathLike, n_shape_total: int = 300, landmarks: str | os.PathLike | None = None
) -> FlameModel:
    """Load a FLAME model (pkl in metres, or a ``save_flame_npz`` file in mm) in millimetres.

    shapedirs' last axis is split at ``n_shape_total``: identity before, expression after
    (FLAME 2020 / 2023: 300 | 100). ``landmarks`` names a landmark embedding to attach; when
    None, ``<stem>_landmarks.pkl`` beside the model is used if it exists.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "FLAME model file not found")
    model = load_flame_npz(path) if path.suffix == ".npz" else _model_from_pickle(path, n_shape_total)
    if landmarks is None and landmarks_path_for(path).is_file():
        landmarks = landmarks_path_for(path)
    if landmarks is not None:
        model.lmk_face_idx, model.lmk_b_coords = load_landmark_embedding(landmarks)
    model.validate(path)
    return model
