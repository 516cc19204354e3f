"""The baseline table: the transformer and its baselines scored on the same folds.

Each kind's per-fold test predictions (``fer4d.formats.predictions``) are pooled like the
transformer's (:func:`fer4d.report.classification.cross_validated_metrics`). Every kind must
have predicted the same test sequences in every fold, or the comparison would not be on the
same folds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from fer4d.errors import InputFileError
from fer4d.formats.predictions import read_predictions
from fer4d.report.classification import FOLD_METRICS, cross_validated_metrics

TRANSFORMER = "transformer"
"""The table's name of the method's own temporal model."""

PathLike = str | os.PathLike


def _test_keys(paths: Sequence[PathLike]) -> list[set[str]]:
    return [{item["key"] for item in read_predictions(path)["items"]} for path in paths]


def baseline_table(transformer: Sequence[PathLike], baselines: Mapping[str, Sequence[PathLike]]) -> dict[str, dict]:
    """``{kind: {accuracy, balanced_accuracy, macro_f1, n, fold_mean, fold_std, folds}}`` for
    ``transformer`` (its per-fold predictions) and each baseline kind (per-fold predictions in
    the same fold order); the transformer's entry comes first."""
    expected = _test_keys(transformer)
    table = {}
    for kind, paths in {TRANSFORMER: transformer, **baselines}.items():
        if len(paths) != len(transformer):
            raise ValueError(f"baseline {kind}: {len(paths)} prediction files for {len(transformer)} folds")
        for path, keys, wanted in zip(paths, _test_keys(paths), expected):
            if keys != wanted:
                raise InputFileError(path, f"baseline {kind} predicted other test sequences than the transformer")
        metrics = cross_validated_metrics(paths)
        table[kind] = {
            **{name: metrics[name] for name in (*FOLD_METRICS, "n")},
            "fold_mean": metrics["fold_mean"],
            "fold_std": metrics["fold_std"],
            "folds": metrics["folds"],
        }
    return table
