"""Repeated cross-validation: the spread of a score over repeats, with a 95 % interval.

Each repeat is a full subject-independent split (``folds.repeats``); its score pools the test
predictions of its ``k`` folds. Over ``R`` repeats the report gives the mean, the sample
standard deviation and the Student-t interval ``mean ± t(0.975, R-1) · std / sqrt(R)`` of the
mean (the repeats share subjects, so the interval is about the split, not about new people).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

from fer4d.report.classification import FOLD_METRICS
from fer4d.report.metrics import summarise


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> dict:
    """``{"mean", "std", "ci": [low, high]}`` of ``values``: sample std (ddof 1) and the
    Student-t interval of the mean; one value has std 0 and no interval (None)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "std": 0.0, "ci": None}
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci": [mean - half, mean + half]}


def repeated_summary(folds: Sequence[dict], repeats: int) -> dict | None:
    """Per repeat (``folds``: the predictions as ``read_predictions`` returns them, in
    repeat-major order, ``len(folds) / repeats`` each) the pooled
    scores, and each score's :func:`mean_interval` over repeats, its interval clipped to [0, 1]:
    ``{"repeats", "folds_per_repeat",
    "per_repeat": [{accuracy, balanced_accuracy, macro_f1, n}], "accuracy": {mean, std, ci}, ...}``;
    None for a single repeat."""
    if repeats <= 1:
        return None
    if len(folds) % repeats:
        raise ValueError(f"{len(folds)} fold predictions do not split into {repeats} repeats")
    per_repeat_folds = len(folds) // repeats
    per_repeat = []
    for repeat in range(repeats):
        true, pred, labels = [], [], None
        for fold in folds[repeat * per_repeat_folds : (repeat + 1) * per_repeat_folds]:
            labels = fold["labels"]
            true += [labels.index(item["true"]) for item in fold["items"]]
            pred += [labels.index(item["pred"]) for item in fold["items"]]
        scores = summarise(true, pred, labels)
        per_repeat.append({"n": scores["n"], **{name: scores[name] for name in FOLD_METRICS}})
    spreads = {name: mean_interval([r[name] for r in per_repeat]) for name in FOLD_METRICS}
    for spread in spreads.values():  # a score lies in [0, 1]: so does its interval
        if spread["ci"] is not None:
            spread["ci"] = [max(0.0, spread["ci"][0]), min(1.0, spread["ci"][1])]
    return {"repeats": repeats, "folds_per_repeat": per_repeat_folds, "per_repeat": per_repeat, **spreads}
