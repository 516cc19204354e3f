"""Cross-validated classification results: pool every fold's test predictions into metrics.

Reads the per-fold predictions of ``train_transformer`` with ``fer4d.formats.predictions``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import numpy as np

from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError
from fer4d.formats.predictions import read_predictions
from fer4d.report.metrics import summarise

FOLD_METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


def cross_validated_metrics(prediction_paths: Sequence[str | os.PathLike]) -> dict:
    """Metrics of all folds' test predictions pooled, plus per-fold metrics and their mean ± std.

    Returns :func:`fer4d.report.metrics.summarise`'s keys for the pooled predictions, and
    ``folds``: ``[{fold, n, accuracy, balanced_accuracy, macro_f1}]``, ``fold_mean`` and
    ``fold_std`` (population std over folds with test items) for the three scores.
    """
    folds = [read_predictions(p) for p in prediction_paths]
    if not folds:
        raise ValueError("no predictions files given")
    labels = folds[0]["labels"]
    for path, fold in zip(prediction_paths, folds):
        if fold["labels"] != labels:
            raise InputFileError(path, f"labels {fold['labels']} differ from the first fold's {labels}")
    index = {label: i for i, label in enumerate(labels)}
    pooled_true, pooled_pred, per_fold = [], [], []
    for position, fold in enumerate(folds):
        true = [index[item["true"]] for item in fold["items"]]
        pred = [index[item["pred"]] for item in fold["items"]]
        pooled_true += true
        pooled_pred += pred
        scores = summarise(true, pred, labels)
        per_fold.append(
            {
                "fold": fold.get("fold", position),
                "n": scores["n"],
                **{name: scores[name] for name in FOLD_METRICS},
            }
        )
    result = summarise(pooled_true, pooled_pred, labels)
    scored = [f for f in per_fold if f["n"] > 0]
    result["folds"] = per_fold
    result["fold_mean"] = {
        name: float(np.mean([f[name] for f in scored])) if scored else float("nan") for name in FOLD_METRICS
    }
    result["fold_std"] = {
        name: float(np.std([f[name] for f in scored])) if scored else float("nan") for name in FOLD_METRICS
    }
    return result


def window_summary(folds: Sequence[dict]) -> dict | None:
    """Window- and sequence-level accuracy of predictions made on sliding windows (items with
    ``window_probs``; a sequence's prediction is the mean of its windows'), pooled over the
    ``folds`` (as ``read_predictions`` returns them):
    ``{"n_windows", "window_accuracy", "n_sequences", "sequence_accuracy"}``; None without windows."""
    windows_right, sequences_right = [], []
    for fold in folds:
        for item in fold["items"]:
            if not item.get("window_probs"):
                continue
            truth = fold["labels"].index(item["true"])
            windows_right += [int(np.argmax(row)) == truth for row in item["window_probs"]]
            sequences_right.append(item["pred"] == item["true"])
    if not sequences_right:
        return None
    return {
        "n_windows": len(windows_right),
        "window_accuracy": float(np.mean(windows_right)),
        "n_sequences": len(sequences_right),
        "sequence_accuracy": float(np.mean(sequences_right)),
    }


def write_metrics_csv(path: str | os.PathLike, metrics: dict) -> None:
    """Long-format CSV ``scope,metric,value``: overall, per fold, mean/std, and per class."""
    rows = [("overall", name, metrics[name]) for name in (*FOLD_METRICS, "n")]
    rows += [(f"fold_{f['fold']}", name, f[name]) for f in metrics["folds"] for name in (*FOLD_METRICS, "n")]
    rows += [(f"fold_{stat}", name, metrics[f"fold_{stat}"][name]) for stat in ("mean", "std") for name in FOLD_METRICS]
    rows += [
        (f"class_{label}", name, value)
        for label, scores in metrics["per_class"].items()
        for name, value in scores.items()
    ]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["scope", "metric", "value"])
        writer.writerows(rows)


def write_confusion_csv(path: str | os.PathLike, metrics: dict) -> None:
    """Confusion-matrix counts as CSV: header ``true\\pred,<labels>``, one row per true label."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true\\pred", *metrics["labels"]])
        for label, row in zip(metrics["labels"], metrics["confusion_matrix"]):
            writer.writerow([label, *row])
