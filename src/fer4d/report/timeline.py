"""Time-resolved predictions: how early in a sequence the transformer knows the expression.

Takes the folds' predictions as ``fer4d.formats.predictions.read_predictions`` returns them, with
their causal ``probs_over_time`` (row ``t`` computed from frames ``0..t`` only), and scores the prediction made from the first part
of each test sequence, the early-recognition readout of the dynamic-FER literature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FRACTIONS = (0.25, 0.5, 0.75, 1.0)
"""Parts of each sequence, from its first frame, that the accuracy over time is scored on."""


def frames_seen(fraction: float, n_frames: int) -> int:
    """How many frames a prediction from the first ``fraction`` of ``n_frames`` has seen (>= 1)."""
    return max(1, math.ceil(fraction * n_frames - 1e-9))


def decision_fraction(curve: np.ndarray) -> float:
    """The part of the sequence after which the causal prediction of ``curve (T, C)`` no longer
    changes: ``t / T`` for the first frame ``t`` (1-based) from which the arg-max stays the last."""
    winners = curve.argmax(1)
    changed = np.flatnonzero(winners != winners[-1])
    return float((changed[-1] + 2 if changed.size else 1) / len(winners))


def time_resolved_summary(folds: Sequence[dict]) -> dict | None:
    """Pooled over the folds' test sequences that have ``probs_over_time``:
    ``{"n", "fractions", "accuracy": [accuracy from the first fraction of each sequence],
    "decision_fraction_median", "decision_fraction_mean"}`` (the decision fraction of the
    sequences whose final prediction is right); None when no fold has curves."""
    correct = {fraction: [] for fraction in FRACTIONS}
    decisions = []
    for fold in folds:
        labels = fold["labels"]
        for item in fold["items"]:
            curve = np.asarray(item.get("probs_over_time") or [], dtype=np.float64)
            if curve.size == 0:
                continue
            truth = labels.index(item["true"])
            for fraction in FRACTIONS:
                correct[fraction].append(int(curve[frames_seen(fraction, len(curve)) - 1].argmax()) == truth)
            if int(curve[-1].argmax()) == truth:
                decisions.append(decision_fraction(curve))
    n = len(correct[FRACTIONS[0]])
    if n == 0:
        return None
    return {
        "n": n,
        "fractions": list(FRACTIONS),
        "accuracy": [float(np.mean(correct[fraction])) for fraction in FRACTIONS],
        "decision_fraction_median": float(np.median(decisions)) if decisions else float("nan"),
        "decision_fraction_mean": float(np.mean(decisions)) if decisions else float("nan"),
    }


def example_curves(folds: Sequence[dict], count: int = 4) -> list[dict]:
    """Up to ``count`` test sequences with curves, of as many different true labels as possible
    (the first of each label in fold order): ``[{"key", "true", "pred", "labels", "curve" (T, C)}]``."""
    chosen: dict[str, dict] = {}
    for fold in folds:
        for item in fold["items"]:
            if item.get("probs_over_time") and item["true"] not in chosen and len(chosen) < count:
                chosen[item["true"]] = {
                    "key": item["key"],
                    "true": item["true"],
                    "pred": item["pred"],
                    "labels": fold["labels"],
                    "curve": np.asarray(item["probs_over_time"], dtype=np.float64),
                }
    return list(chosen.values())
