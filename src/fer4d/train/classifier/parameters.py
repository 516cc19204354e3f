"""FLAME parameters as per-frame classifier features: the ablation that replaces the spiral
auto-encoder's embeddings with the registration's own expression code (baseline
``flame_transformer``), to measure what the learned mesh representation adds.

A frame's features are its FLAME expression coefficients and its jaw rotation (axis-angle,
radians): what the registration says about the expression, without the identity (``shape``)
or the head pose (global and neck rotations, translation).
"""

from __future__ import annotations

import os

import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.embeddings import EmbeddedSequence, EmbeddingsFile
from fer4d.formats.store import SPLITS, MeshStore

JAW = 2
"""The jaw's joint in FLAME's pose order: global, neck, jaw, left eye, right eye."""


def parameter_features(params: dict[str, np.ndarray]) -> np.ndarray:
    """``expression (T, E)`` and ``pose (T, J, 3)`` of one fit → features ``(T, E + 3)`` float32."""
    expression = np.asarray(params["expression"], np.float32)
    jaw = np.asarray(params["pose"], np.float32)[:, JAW, :]
    return np.concatenate([expression, jaw], axis=1)


def read_parameter_fold(store_path: str | os.PathLike, fold: int) -> EmbeddingsFile:
    """The fold's sequences from the store with their :func:`parameter_features` as per-frame
    vectors, in the container the embeddings use (so every classifier reads them alike). A sequence
    without FLAME parameters (a registered-mesh dataset, never fitted) raises InputFileError."""
    with MeshStore(store_path) as store:
        folds = store.fold(fold)
        sequences = []
        for split in SPLITS:
            for key in getattr(folds, split):
                info = store.info(key)
                params = store.params(key)
                if "expression" not in params or "pose" not in params:
                    raise InputFileError(
                        store_path,
                        f"sequence {key} has no FLAME parameters (registered meshes are not fitted): "
                        "the flame_transformer baseline needs a fitted dataset",
                    )
                features = parameter_features(params)
                sequences.append(EmbeddedSequence(key, info.subject, info.label, info.label_index, split, features))
        return EmbeddingsFile(fold, store.labels, sorted(sequences, key=lambda s: s.key))
