"""A difficulty check of a synthetic dataset: 1-nearest-neighbour on ground-truth apex frames.

Each sequence is represented by its canonical ground-truth mesh at the apex (the frame that
moves furthest from the first, neutral frame); every sequence is classified by its nearest
neighbour among the other subjects' sequences (leave-one-subject-out). Chance is 1/6: a useful
dataset is clearly above that and far from perfect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.groundtruth import read_ground_truth


def apex_index(vertices_canonical: np.ndarray) -> int:
    """Frame of ``vertices_canonical (T, V, 3)`` with the largest mean displacement from frame 0."""
    displacement = np.linalg.norm(vertices_canonical - vertices_canonical[:1], axis=2).mean(axis=1)
    return int(np.argmax(displacement))


def load_apex_frames(dataset_dir: str | os.PathLike) -> tuple[np.ndarray, list[str], list[str]]:
    """``(apex (S, V, 3) mm, subjects, labels)`` of every sequence in a dataset's manifest."""
    root = Path(dataset_dir)
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise InputFileError(manifest, "missing; is this a fer4d synthetic dataset?")
    apex, subjects, labels = [], [], []
    for entry in json.loads(manifest.read_text()):
        path = root / entry["subject"] / entry["folder"] / "ground_truth.h5"
        canonical = read_ground_truth(path).vertices_canonical
        apex.append(canonical[apex_index(canonical)])
        subjects.append(entry["subject"])
        labels.append(entry["label"])
    return np.stack(apex), subjects, labels


def leave_one_subject_out_1nn(features: np.ndarray, subjects: list[str], labels: list[str]) -> float:
    """Accuracy of 1-NN (Euclidean) on ``features (S, D)``, neighbours from other subjects only."""
    features = features.reshape(len(features), -1).astype(np.float64)
    squared = (features**2).sum(axis=1)
    distance = squared[:, None] + squared[None, :] - 2.0 * features @ features.T
    same_subject = np.asarray(subjects)[:, None] == np.asarray(subjects)[None, :]
    distance[same_subject] = np.inf
    nearest = np.argmin(distance, axis=1)
    return float(np.mean(np.asarray(labels)[nearest] == np.asarray(labels)))


def apex_nearest_neighbour_accuracy(dataset_dir: str | os.PathLike) -> float:
    """Leave-one-subject-out 1-NN accuracy on ground-truth canonical apex frames of a dataset."""
    apex, subjects, labels = load_apex_frames(dataset_dir)
    return leave_one_subject_out_1nn(apex, subjects, labels)
