"""The predictions file ``predictions.json`` (one per fold, written by ``train_transformer``,
read by ``report``): ``write_predictions`` and ``read_predictions``, the only code that opens one.

``{"fold": i, "labels": [...], "items": [{"key", "subject", "true", "pred", "probs": [...],
"probs_over_time": [[...], ...], "window_probs": [[...], ...]}]}``; ``probs_over_time`` (the
transformer's, absent for the baselines) holds one row of class probabilities per frame ``t``,
computed from frames ``0..t`` only (with windows: from the window ending at ``t``);
``window_probs`` (only with ``evaluation.window``) one row per sliding window, whose mean is
``probs``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fer4d.atomic import write_json
from fer4d.errors import InputFileError


@dataclass
class Prediction:
    """One test sequence: true and predicted label, class probabilities in the file's ``labels``
    order and, optionally, the causal probabilities over time ``(T, n_classes)`` and those of its
    sliding windows ``(W, n_classes)`` (empty: none)."""

    key: str
    subject: str
    true: str
    pred: str
    probs: list[float]
    probs_over_time: list[list[float]] = field(default_factory=list)
    window_probs: list[list[float]] = field(default_factory=list)


def write_predictions(path: str | os.PathLike, fold: int, items: list[Prediction], labels: list[str]) -> None:
    """Write one fold's predictions atomically (probabilities, in ``labels`` order, rounded to 6
    digits). An item whose label is not one of ``labels`` or whose probabilities are not one per
    class raises ValueError before anything is written."""
    rows = []
    for item in items:
        widths = {len(item.probs), *(len(row) for row in item.probs_over_time + item.window_probs)}
        if item.true not in labels or item.pred not in labels or widths != {len(labels)}:
            raise ValueError(f"{path}: prediction {item.key!r} does not fit the {len(labels)} classes {labels}")
        row = {**asdict(item), "probs": [round(float(p), 6) for p in item.probs]}
        for name in ("probs_over_time", "window_probs"):
            if row[name]:
                row[name] = [[round(float(p), 4) for p in frame] for frame in row[name]]
            else:
                del row[name]
        rows.append(row)
    write_json(path, {"fold": fold, "labels": list(labels), "items": rows})


def read_predictions(path: str | os.PathLike) -> dict:
    """One fold's predictions file, checked for the keys the report needs."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputFileError(path, f"cannot read predictions JSON: {err}") from err
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("labels"), list)
        or not isinstance(data.get("items"), list)
    ):
        raise InputFileError(path, "predictions JSON needs 'labels' (list) and 'items' (list)")
    for item in data["items"]:
        if (
            not {"true", "pred"} <= set(item)
            or item["true"] not in data["labels"]
            or item["pred"] not in data["labels"]
        ):
            raise InputFileError(path, f"prediction item {item.get('key', '?')!r} lacks a known 'true'/'pred' label")
        for name in ("probs_over_time", "window_probs"):
            rows = item.get(name, [])
            if not isinstance(rows, list) or any(
                not isinstance(r, list) or len(r) != len(data["labels"]) for r in rows
            ):
                raise InputFileError(path, f"prediction item {item.get('key', '?')!r}: {name} is not (rows, classes)")
    return data
