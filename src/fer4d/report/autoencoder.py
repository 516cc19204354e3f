"""Read the auto-encoder's per-fold metrics JSON defensively.

Expected (``train_autoencoder``'s metrics file): a per-epoch history under ``history`` or
``epochs`` — a list of ``{epoch, <name>: value, ...}`` or a dict ``{<name>: [values]}`` — and
the test reconstruction error in mm, either as a top-level number whose key starts with
``test`` and contains ``mm`` (e.g. ``test_error_mm``) or inside a ``test`` object (first
numeric key containing ``mm``, else ``mean``). Anything missing is reported as absent rather
than failing the report.
"""

from __future__ import annotations

import json
import logging
import os
from numbers import Real

log = logging.getLogger(__name__)

NOT_CURVES = {"epoch", "lr", "seconds", "time", "step"}


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


def _test_error(data: dict) -> float | None:
    for key, value in data.items():
        if key.startswith("test") and "mm" in key and _is_number(value):
            return float(value)
    test = data.get("test")
    if isinstance(test, dict):
        for key, value in test.items():
            if "mm" in key and _is_number(value):
                return float(value)
        if _is_number(test.get("mean")):
            return float(test["mean"])
    return None


def read_autoencoder_metrics(path: str | os.PathLike) -> tuple[dict[str, list[float]], float | None]:
    """``(curves, test_error_mm)`` of one fold's metrics file; empty/None where not found."""
    try:
        data = json.loads(open(path).read())
    except (OSError, json.JSONDecodeError) as err:
        log.warning("%s: cannot read auto-encoder metrics (%s); left out of the report", path, err)
        return {}, None
    if not isinstance(data, dict):
        log.warning("%s: auto-encoder metrics are not a JSON object; left out of the report", path)
        return {}, None
    history = data.get("history", data.get("epochs"))
    return _curves(history), _test_error(data)
