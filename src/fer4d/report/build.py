"""Stage ``report``: gather every fold's outputs into ``results/report/``.

Writes every file of ``fer4d.report.files.REPORT_FILES``: metrics (JSON, CSV), the confusion
matrix (CSV, PNG, SVG), class probabilities over time, training curves, reconstruction error and registration quality (PNG +
JSON), a registered sequence, on the 2D path the fit drawn over one frame, memory against sequence length (PNG + CSV), and ``report.md``
summarising the numbers.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from fer4d.atomic import atomic_path, write_json
from fer4d.errors import InputFileError
from fer4d.formats.predictions import read_predictions
from fer4d.report import plots
from fer4d.report.autoencoder import read_autoencoder_metrics, summarise_regions
from fer4d.report.baselines import baseline_table
from fer4d.report.classification import (
    cross_validated_metrics,
    window_summary,
    write_confusion_csv,
    write_metrics_csv,
)
from fer4d.report.example import choose_example
from fer4d.report.files import REPORT_FILES
from fer4d.report.overlay import render_landmark_overlay
from fer4d.report.registered import render_registered_sequence
from fer4d.report.registration import read_quality, summarise_quality
from fer4d.report.repeats import repeated_summary
from fer4d.report.summary import render_summary
from fer4d.report.timeline import example_curves, time_resolved_summary

log = logging.getLogger(__name__)

PathLike = str | os.PathLike


@dataclass
class ReportInputs:
    """Everything the report reads. Per-fold lists are in fold order.

    ``predictions`` / ``histories``: ``train_transformer``'s predictions and history JSON;
    ``baselines``: kind → ``train_baseline``'s per-fold predictions JSON;
    ``autoencoder_metrics``: ``train_autoencoder``'s metrics JSON; ``store``: ``dataset.h5``;
    ``memory``: ``fer4d bench memory`` JSON; ``examples``: ``(fit, ingested scan or None)``
    pairs of sequences the report may render, of which it draws the first one kept in the store
    (:func:`fer4d.report.example.choose_example`); ``landmarks``: on the 2D path, the landmark
    file of each example (same order), whose image the fit is drawn over; ``repeats``: how many repeated splits the
    folds (in repeat-major order) make (``folds.repeats``). Optional inputs may be None/empty; their
    figures then say that the input was not given.
    """

    predictions: list[PathLike]
    histories: list[PathLike] = field(default_factory=list)
    baselines: dict[str, list[PathLike]] = field(default_factory=dict)
    autoencoder_metrics: list[PathLike] = field(default_factory=list)
    store: PathLike | None = None
    memory: PathLike | None = None
    examples: list[tuple[PathLike, PathLike | None]] = field(default_factory=list)
    landmarks: list[PathLike] = field(default_factory=list)
    repeats: int = 1


def baselines_by_kind(paths: list[PathLike], kinds: list[str]) -> dict[str, list[PathLike]]:
    """Kind-major ``paths`` (every fold of ``kinds[0]``, then of ``kinds[1]``, ...) → kind → paths."""
    if len(paths) % max(len(kinds), 1) or (paths and not kinds):
        raise ValueError(f"{len(paths)} baseline prediction files do not split over the kinds {kinds}")
    per_kind = len(paths) // max(len(kinds), 1)
    return {kind: paths[i * per_kind : (i + 1) * per_kind] for i, kind in enumerate(kinds)}


def _read_json(path: PathLike, what: str):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputFileError(path, f"cannot read {what} JSON: {err}") from err


def _classification(inputs: ReportInputs, out: Path) -> dict:
    metrics = cross_validated_metrics(inputs.predictions)
    write_metrics_csv(out / REPORT_FILES["metrics_csv"], metrics)
    write_confusion_csv(out / REPORT_FILES["confusion_csv"], metrics)
    plots.plot_confusion_matrix(
        metrics["confusion_matrix"],
        metrics["labels"],
        f"accuracy {100 * metrics['accuracy']:.1f}%, balanced {100 * metrics['balanced_accuracy']:.1f}%",
        out / REPORT_FILES["confusion_png"],
        out / REPORT_FILES["confusion_svg"],
    )
    return metrics


def _over_time(folds: list[dict], out: Path) -> dict | None:
    examples = example_curves(folds)
    if examples:
        plots.plot_probabilities_over_time(examples, out / REPORT_FILES["over_time"])
    else:
        plots.plot_placeholder("no probabilities over time in the predictions", out / REPORT_FILES["over_time"])
    return time_resolved_summary(folds)


def _training(inputs: ReportInputs, out: Path) -> dict:
    histories = [_read_json(p, "transformer history") for p in inputs.histories]
    if histories:
        plots.plot_training_curves(histories, out / REPORT_FILES["training_curves"])
    else:
        plots.plot_placeholder("no transformer histories given", out / REPORT_FILES["training_curves"])
    read = [read_autoencoder_metrics(p) for p in inputs.autoencoder_metrics]
    regions = [fold.regions for fold in read]
    reconstruction = {
        "test_error_mm": [fold.test_error_mm for fold in read],
        "regions": regions,
        "summary": summarise_regions(regions),
        "curves": [fold.curves for fold in read],
    }
    write_json(out / REPORT_FILES["reconstruction_json"], reconstruction)
    plots.plot_reconstruction(
        reconstruction["curves"], reconstruction["test_error_mm"], out / REPORT_FILES["reconstruction"]
    )
    return reconstruction


def _registration(inputs: ReportInputs, out: Path) -> dict | None:
    summary = None
    if inputs.store is not None:
        frames, sequences = read_quality(inputs.store)
        summary = summarise_quality(frames, sequences)
        write_json(out / REPORT_FILES["registration_json"], summary)
        if summary["fitted"]:
            plots.plot_registration_quality(
                {k: v for k, v in frames.items() if k != "flagged"}, sequences, out / REPORT_FILES["registration"]
            )
        else:
            plots.plot_placeholder(
                "registered-mesh dataset: not fitted, no registration residuals", out / REPORT_FILES["registration"]
            )
    else:
        plots.plot_placeholder("no store given", out / REPORT_FILES["registration"])
    example = choose_example(inputs.examples, inputs.store)
    if example is not None:
        render_registered_sequence(*example, out / REPORT_FILES["registered_sequence"])
    else:
        plots.plot_placeholder("no kept sequence to draw", out / REPORT_FILES["registered_sequence"])
    overlay = out / REPORT_FILES["landmark_overlay"]
    if example is not None and inputs.landmarks:
        fits = [fit for fit, _ in inputs.examples]
        render_landmark_overlay(example[0], inputs.landmarks[fits.index(example[0])], overlay)
    else:
        plots.plot_placeholder("3D scans: no image to draw the fit over (2D path only)", overlay)
    return summary


def _memory(inputs: ReportInputs, out: Path) -> dict | None:
    if inputs.memory is None:
        plots.plot_placeholder("no memory benchmark given", out / REPORT_FILES["memory"])
        return None
    memory = _read_json(inputs.memory, "memory benchmark")
    if not isinstance(memory, dict) or not isinstance(memory.get("points"), list):
        raise InputFileError(inputs.memory, "memory benchmark JSON needs a 'points' list")
    plots.plot_memory(memory["points"], memory.get("device", "?"), memory.get("batch", 0), out / REPORT_FILES["memory"])
    with atomic_path(out / REPORT_FILES["memory_csv"]) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frames", "peak_mb", "baseline_mb", "ms_per_batch"])
        writer.writerows(
            [p["frames"], p["peak_mb"], p.get("baseline_mb", ""), p["ms_per_batch"]] for p in memory["points"]
        )
    return memory


def build_report(inputs: ReportInputs, out_dir: PathLike) -> dict:
    """Write every report file into ``out_dir``; return the metrics dict (as in ``metrics.json``:
    the classification metrics; under ``reconstruction``, the auto-encoder's test error per
    fold and region with its mean ± std over folds; under ``baselines``, the transformer and each
    baseline kind scored on the same folds, :func:`fer4d.report.baselines.baseline_table`; under
    ``time_resolved``, the accuracy from the first part of each sequence,
    :func:`fer4d.report.timeline.time_resolved_summary`, or None; under ``repeated``, the scores
    per repeat with mean ± std and 95 % interval, :func:`fer4d.report.repeats.repeated_summary`,
    or None without repeats; under ``windows``, window- and sequence-level accuracy,
    :func:`fer4d.report.classification.window_summary`, or None on whole sequences)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics = _classification(inputs, out)
    reconstruction = _training(inputs, out)
    metrics["reconstruction"] = {key: reconstruction[key] for key in ("test_error_mm", "regions", "summary")}
    metrics["baselines"] = baseline_table(inputs.predictions, inputs.baselines)
    folds = [read_predictions(path) for path in inputs.predictions]  # once, for the summaries below
    metrics["time_resolved"] = _over_time(folds, out)
    metrics["repeated"] = repeated_summary(folds, inputs.repeats)
    metrics["windows"] = window_summary(folds)
    write_json(out / REPORT_FILES["metrics"], metrics)
    registration = _registration(inputs, out)
    memory = _memory(inputs, out)
    with atomic_path(out / REPORT_FILES["summary"]) as tmp:
        tmp.write_text(render_summary(metrics, registration, reconstruction, memory))
    log.info(
        "report: accuracy %.3f, balanced accuracy %.3f over %d test sequences → %s",
        metrics["accuracy"],
        metrics["balanced_accuracy"],
        metrics["n"],
        out,
    )
    return metrics
