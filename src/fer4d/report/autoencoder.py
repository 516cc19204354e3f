"""Read the auto-encoder's per-fold metrics JSON defensively.

Expected (``train_autoencoder``'s metrics file): a per-epoch history under ``history`` or
``epochs`` — a list of ``{epoch, <name>: value, ...}`` or a dict ``{<name>: [values]}`` — and
the test reconstruction error in mm, either as a top-level number whose key starts with
``test`` and contains ``mm`` (e.g. ``test_euclidean_mm``) or inside a ``test`` object (numeric
keys containing ``mm``, or ``mean``); among several, the Euclidean one is preferred; and, from
``fer4d.train.reconstruction``, the test error per region under ``reconstruction.test``
(``{region: {error_mm, l1_mm, expression_mm, relative}}``). Anything missing is reported as absent
rather than failing the report.
"""

from __future__ import annotations

import json
import logging
import os
from numbers import Real
from pathlib import Path
from typing import NamedTuple

import numpy as np

log = logging.getLogger(__name__)

NOT_CURVES = {"epoch", "lr", "seconds", "time", "step"}


class AutoencoderMetrics(NamedTuple):
    """One fold's ``curves`` ``{name: [value per epoch]}``, ``test_error_mm`` (or None) and test
    ``regions`` ``{region: {measure: value}}`` (empty when not recorded)."""

    curves: dict[str, list[float]]
    test_error_mm: float | None
    regions: dict[str, dict[str, float]]


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _curves(history) -> dict[str, list[float]]:
    """Per-epoch series ``{name: [value per epoch]}`` from a list of records or a dict of lists."""
    if isinstance(history, dict):
        return {
            k: [float(v) for v in values]
            for k, values in history.items()
            if k not in NOT_CURVES and isinstance(values, list) and values and all(map(_is_number, values))
        }
    if isinstance(history, list) and history and all(isinstance(r, dict) for r in history):
        names = [k for k, v in history[0].items() if k not in NOT_CURVES and _is_number(v)]
        return {k: [float(r[k]) for r in history if _is_number(r.get(k))] for k in names}
    return {}


def _preferred(candidates: dict[str, float]) -> float | None:
    """The Euclidean (else mean, else first) of several mm errors, e.g. Euclidean and L1."""
    for word in ("euclid", "mean", ""):
        for key, value in candidates.items():
            if word in key:
                return value
    return None


def _test_error(data: dict) -> float | None:
    top = {k: float(v) for k, v in data.items() if k.startswith("test") and "mm" in k and _is_number(v)}
    test = data.get("test") if isinstance(data.get("test"), dict) else {}
    nested = {k: float(v) for k, v in test.items() if ("mm" in k or k == "mean") and _is_number(v)}
    return _preferred(top) if top else _preferred(nested)


def _regions(data: dict) -> dict[str, dict[str, float]]:
    test = data.get("reconstruction", {}).get("test") if isinstance(data.get("reconstruction"), dict) else None
    if not isinstance(test, dict):
        return {}
    return {
        region: {k: float(v) for k, v in measures.items() if _is_number(v)}
        for region, measures in test.items()
        if isinstance(measures, dict)
    }


def read_autoencoder_metrics(path: str | os.PathLike) -> AutoencoderMetrics:
    """One fold's metrics file; empty/None where not found."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        log.warning("%s: cannot read auto-encoder metrics (%s); left out of the report", path, err)
        return AutoencoderMetrics({}, None, {})
    if not isinstance(data, dict):
        log.warning("%s: auto-encoder metrics are not a JSON object; left out of the report", path)
        return AutoencoderMetrics({}, None, {})
    history = data.get("history", data.get("epochs"))
    return AutoencoderMetrics(_curves(history), _test_error(data), _regions(data))


def summarise_regions(per_fold: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """``{region: {measure: {"mean", "std", "folds"}}}`` over the folds that recorded it
    (population std over folds)."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for region in dict.fromkeys(r for fold in per_fold for r in fold):
        measures = dict.fromkeys(m for fold in per_fold for m in fold.get(region, {}))
        summary[region] = {}
        for measure in measures:
            values = [fold[region][measure] for fold in per_fold if measure in fold.get(region, {})]
            summary[region][measure] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
                "folds": len(values),
            }
    return summary
