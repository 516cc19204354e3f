"""The ``fit`` stage: ingested sequence ``.h5`` → fit ``.h5``."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from fer4d.errors import InputFileError
from fer4d.fitting.options import FitOptions
from fer4d.fitting.quality import vertex_errors
from fer4d.fitting.sequence import QUALITY_KEYS, FitResult, fit_sequence
from fer4d.flame.files import load_flame
from fer4d.flame.model import FlameModel
from fer4d.formats.fit import write_fit
from fer4d.formats.ingested import read_sequence
from fer4d.logs import failure_line

log = logging.getLogger(__name__)


def result_arrays(
    result: FitResult, frame_index: np.ndarray, truth_vertices: np.ndarray | None
) -> dict[str, np.ndarray]:
    """The fit file's datasets for ``result``; v2v errors when ``truth_vertices`` (T, V, 3) given."""
    arrays = {
        "vertices": result.vertices,
        "vertices_scan": result.vertices_scan,
        "faces": result.faces,
        "frame_index": frame_index.astype(np.int32),
        "params/shape": result.params.shape,
        "params/expression": result.params.expression,
        "params/pose": result.params.pose,
        "params/translation": result.params.translation,
        "params/scan_to_model": result.scan_to_model,
    }
    arrays.update({f"quality/{key}": result.quality[key] for key in QUALITY_KEYS})
    if truth_vertices is not None and truth_vertices.shape[1:] == result.vertices_scan.shape[1:]:
        errors = vertex_errors(result.vertices_scan, truth_vertices)
        arrays["quality/v2v_mean_mm"] = errors.mean(axis=1).astype(np.float32)
        arrays["quality/v2v_median_mm"] = np.median(errors, axis=1).astype(np.float32)
    return arrays


def empty_arrays(
    model: FlameModel, n_shape: int, n_expr: int, quality_keys: tuple[str, ...] = QUALITY_KEYS
) -> dict[str, np.ndarray]:
    """The fit file's datasets for a sequence with no frames (``quality_keys``: the fit's per-frame
    quality measures, ``flagged`` boolean)."""
    n_vertices = model.n_vertices
    n_shape = min(n_shape, model.shapedirs.shape[2])
    n_expr = min(n_expr, model.exprdirs.shape[2])
    arrays = {
        "vertices": np.zeros((0, n_vertices, 3), np.float32),
        "vertices_scan": np.zeros((0, n_vertices, 3), np.float32),
        "faces": model.faces.astype(np.int32),
        "frame_index": np.zeros(0, np.int32),
        "params/shape": np.zeros(n_shape, np.float32),
        "params/expression": np.zeros((0, n_expr), np.float32),
        "params/pose": np.zeros((0, 5, 3), np.float32),
        "params/translation": np.zeros((0, 3), np.float32),
        "params/scan_to_model": np.eye(4),
    }
    arrays.update({f"quality/{key}": np.zeros(0, bool if key == "flagged" else np.float32) for key in quality_keys})
    return arrays


def _checked_fit(frames, model: FlameModel, options: FitOptions, device: str, seed: int) -> FitResult:
    """``fit_sequence``, refusing a result with non-finite vertices (``ValueError``)."""
    result = fit_sequence(frames, model, options, device, seed)
    bad = ~np.isfinite(result.vertices_scan).all(axis=(1, 2))
    if bad.any():
        raise ValueError(f"non-finite fitted vertices in {int(bad.sum())} of {len(bad)} frames")
    return result


def fit_sequence_files(
    in_paths: list[str | os.PathLike],
    model_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: FitOptions,
    device: str = "auto",
    seed: int = 0,
    strict: bool = False,
) -> list[dict]:
    """Fit every ingested sequence of ``in_paths`` (e.g. one subject's) in turn, each as
    :func:`fit_sequence_file` does, into ``out_dir/<its file name>``; the model is read once.
    ``out_dir`` is made, also when there is nothing to fit; two inputs of one file name are
    refused (``ValueError``) before any fit. Returns the sequences' summaries.

    One process for several sequences pays the start-up (Python, torch, the model) once: the
    workflow's fit jobs are per subject for that reason.
    """
    names = [Path(in_path).name for in_path in in_paths]
    if len(set(names)) < len(names):
        raise ValueError(f"two sequences would write one fit file in {out_dir}: {sorted(names)}")
    model = load_flame(model_path)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return [
        _fit_into(in_path, model, Path(out_dir, name), options, device, seed, strict)
        for in_path, name in zip(in_paths, names, strict=True)
    ]


def fit_sequence_file(
    in_path: str | os.PathLike,
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    options: FitOptions,
    device: str = "auto",
    seed: int = 0,
    strict: bool = False,
) -> dict:
    """Register the FLAME model at ``model_path`` to the ingested sequence at ``in_path`` and write
    the fit ``.h5`` to ``out_path``. Returns a summary: subject, label, status, n_frames, fit_s,
    n_flagged, residual_median_mm (median over frames), and v2v_mean_mm with ground truth.

    A sequence whose frames cannot be fitted (the solver fails, or gives non-finite vertices) is
    written as an ``empty`` fit with the reason, which the store reports (``strict``: raised as an
    ``InputFileError`` naming ``in_path`` instead). Running out of memory is not the data's fault
    and is always raised.
    """
    return _fit_into(in_path, load_flame(model_path), out_path, options, device, seed, strict)


def _fit_into(
    in_path: str | os.PathLike,
    model: FlameModel,
    out_path: str | os.PathLike,
    options: FitOptions,
    device: str,
    seed: int,
    strict: bool,
) -> dict:
    """:func:`fit_sequence_file` with the model already read."""
    sequence = read_sequence(in_path)
    summary = {
        "subject": sequence.subject,
        "label": sequence.label,
        "status": sequence.status,
        "n_frames": len(sequence.frames),
    }
    if sequence.status == "empty":
        log.warning("%s: empty sequence, writing an empty fit", in_path)
        write_fit(
            out_path, empty_arrays(model, options.n_shape, options.n_expr), sequence.subject, sequence.label, "empty"
        )
        return summary
    start = time.perf_counter()
    try:
        result = _checked_fit(sequence.frames, model, options, device, seed)
    except torch.OutOfMemoryError:
        raise
    except (ValueError, ArithmeticError, RuntimeError) as err:
        reason = f"fitting failed: {failure_line(err)}"
        if strict:
            raise InputFileError(in_path, reason) from err
        log.error("%s: %s; writing an empty fit", in_path, reason)
        write_fit(
            out_path,
            empty_arrays(model, options.n_shape, options.n_expr),
            sequence.subject,
            sequence.label,
            "empty",
            reason=reason,
        )
        return {**summary, "status": "empty", "reason": reason}
    truth = (sequence.ground_truth or {}).get("vertices")
    arrays = result_arrays(result, sequence.frame_index, truth)
    write_fit(out_path, arrays, sequence.subject, sequence.label, "ok")
    summary.update(
        fit_s=round(time.perf_counter() - start, 3),
        n_flagged=int(result.quality["flagged"].sum()),
        residual_median_mm=float(np.median(result.quality["residual_median_mm"])),
    )
    if "quality/v2v_mean_mm" in arrays:
        summary["v2v_mean_mm"] = float(arrays["quality/v2v_mean_mm"].mean())
    log.info("fit %s/%s: %s", sequence.subject, sequence.label, summary)
    return summary
