"""Classification metrics in plain numpy: confusion matrix, accuracy, balanced accuracy, P/R/F1.

Labels are integer class indices ``0..n_classes-1``; ``true`` and ``pred`` are ``(N,) int``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(true: Sequence[int], pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts ``(n_classes, n_classes) int64``: row = true class, column = predicted class."""
    true, pred = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"true and pred differ in shape: {true.shape} vs {pred.shape}")
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (true, pred), 1)
    return matrix


def accuracy(matrix: np.ndarray) -> float:
    """Fraction of correct predictions; NaN for an empty matrix."""
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else float("nan")


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def per_class(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class ``precision``, ``recall``, ``f1`` ``(C,) float`` (0 where undefined), ``support`` ``(C,) int``."""
    correct = np.diag(matrix).astype(np.float64)
    support = matrix.sum(1)
    precision = _safe_divide(correct, matrix.sum(0).astype(np.float64))
    recall = _safe_divide(correct, support.astype(np.float64))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def balanced_accuracy(matrix: np.ndarray) -> float:
    """Mean recall over the classes that occur (rows with support > 0); NaN if none do."""
    support = matrix.sum(1)
    present = support > 0
    if not present.any():
        return float("nan")
    return float((np.diag(matrix)[present] / support[present]).mean())


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows without samples stay zero) → ``(C, C) float``."""
    sums = matrix.sum(1, keepdims=True).astype(np.float64)
    return np.divide(matrix, sums, out=np.zeros(matrix.shape), where=sums > 0)


def summarise(true: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> dict:
    """All metrics of one set of predictions as JSON-ready values.

    ``{accuracy, balanced_accuracy, macro_f1, n, labels, confusion_matrix (rows = true),
    per_class: {label: {precision, recall, f1, support}}}``.
    """
    matrix = confusion_matrix(true, pred, len(labels))
    scores = per_class(matrix)
    present = scores["support"] > 0
    return {
        "accuracy": accuracy(matrix),
        "balanced_accuracy": balanced_accuracy(matrix),
        "macro_f1": float(scores["f1"][present].mean()) if present.any() else float("nan"),
        "n": int(matrix.sum()),
        "labels": list(labels),
        "confusion_matrix": matrix.tolist(),
        "per_class": {
            label: {
                "precision": float(scores["precision"][i]),
                "recall": float(scores["recall"][i]),
                "f1": float(scores["f1"][i]),
                "support": int(scores["support"][i]),
            }
            for i, label in enumerate(labels)
        },
    }
