"""``fer4d predict``: classify a new raw scan sequence with the trained models of a workflow run.

The run folder (the workflow's ``results/``) holds ``config.json`` (the run's resolved config),
``mesh/hierarchy.npz`` and per fold ``folds/{i}/autoencoder.pt`` and ``folds/{i}/transformer.pt``.
The sequence goes through the same stages as in training — ingestion and FLAME fitting with the
run's options (in a temporary folder) — then each fold's encoder embeds its frames and that
fold's transformer classifies them; the class probabilities are averaged over the folds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fer4d import LABELS
from fer4d.errors import InputFileError
from fer4d.train.classifier import load_classifier

log = logging.getLogger(__name__)


def read_run_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's resolved config (``RUN_DIR/config.json``)."""
    path = Path(run_dir) / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputFileError(path, f"cannot read the run's config (is this a workflow results folder?): {err}") from err
    missing = [s for s in ("flame", "ingest", "fit") if s not in config]
    if missing:
        raise InputFileError(path, f"config lacks section(s) {missing}")
    return config


def fold_dirs(run_dir: str | os.PathLike) -> list[Path]:
    """``RUN_DIR/folds/{i}`` folders holding both checkpoints, in fold order."""
    folds = [
        p
        for p in (Path(run_dir) / "folds").glob("*")
        if p.name.isdigit() and (p / "autoencoder.pt").exists() and (p / "transformer.pt").exists()
    ]
    if not folds:
        raise InputFileError(Path(run_dir) / "folds", "no fold folder with autoencoder.pt and transformer.pt")
    return sorted(folds, key=lambda p: int(p.name))


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def scan_files(sequence_dir: str | os.PathLike, extension: str) -> list[Path]:
    """The sequence's scan files ``*.{extension}`` in natural order (2 before 10)."""
    folder = Path(sequence_dir)
    if not folder.is_dir():
        raise InputFileError(folder, "not a folder of scan files")
    files = sorted(folder.glob(f"*.{extension.lstrip('.')}"), key=_natural_key)
    if not files:
        raise InputFileError(folder, f"contains no *.{extension} scan files")
    return files


def scan_extension(config: dict[str, Any]) -> str:
    """The scan file extension the run was trained on."""
    if config.get("dataset", {}).get("source", "synthetic") == "synthetic":
        return config.get("synthetic", {}).get("format", "wrl")
    return config["dataset"].get("extension", "wrl")


def register_sequence(frames: list[Path], config: dict[str, Any], work_dir: Path, device: str, seed: int) -> np.ndarray:
    """Ingest and FLAME-fit ``frames`` with the run's options → registered vertices ``(T, V, 3) float32 mm``."""
    from fer4d.fitting import FitOptions, fit_sequence_file
    from fer4d.io import IngestOptions, ingest_sequence

    subject = frames[0].parent.parent.name or "unknown"
    ingested, fitted = work_dir / "sequence.h5", work_dir / "fit.h5"
    ingest_sequence(
        frames,
        ingested,
        work_dir / "quarantine.json",
        subject,
        "unknown",
        IngestOptions.from_dict(config["ingest"]),
        strict=False,
    )
    fit_sequence_file(
        ingested,
        config["flame"]["model"],
        fitted,
        FitOptions.from_dict(config["fit"]),
        device=device,
        seed=seed,
    )
    with h5py.File(fitted, "r") as f:
        vertices = np.asarray(f["vertices"], dtype=np.float32)
    if vertices.ndim != 3 or len(vertices) == 0:
        problems = json.loads((work_dir / "quarantine.json").read_text() or "[]")
        detail = "; ".join(f"{p['file']}: {p['problem']}" for p in problems[:5])
        raise InputFileError(frames[0].parent, f"no usable frames after ingestion and fitting ({detail})")
    return vertices


def classify_vertices(vertices: np.ndarray, run_dir: str | os.PathLike, device: str = "auto") -> dict[str, Any]:
    """Embed and classify registered ``vertices (T, V, 3)`` with every fold's models of the run.

    Returns ``{"label", "probabilities": {label: p}, "folds": [{"fold", "label", "probabilities"}]}``
    with the probabilities averaged over the folds.
    """
    from fer4d.train.embed import encode_frames, load_encoder

    hierarchy = Path(run_dir) / "mesh" / "hierarchy.npz"
    per_fold = []
    for folder in fold_dirs(run_dir):
        encoder = load_encoder(folder / "autoencoder.pt", hierarchy, device)
        embedding = np.asarray(encode_frames(encoder, vertices), dtype=np.float32)  # (T, d)
        probs = load_classifier(folder / "transformer.pt", device).probabilities([embedding])[0]
        per_fold.append(
            {
                "fold": int(folder.name),
                "label": LABELS[int(probs.argmax())],
                "probabilities": dict(zip(LABELS, map(float, probs))),
            }
        )
    mean = np.mean([list(f["probabilities"].values()) for f in per_fold], axis=0)
    return {
        "label": LABELS[int(mean.argmax())],
        "probabilities": dict(zip(LABELS, map(float, mean))),
        "folds": per_fold,
    }


def predict_sequence(
    sequence_dir: str | os.PathLike, run_dir: str | os.PathLike, device: str = "auto", seed: int | None = None
) -> dict[str, Any]:
    """Classify the raw scan sequence in ``sequence_dir`` with the run in ``run_dir``.

    Returns :func:`classify_vertices`'s dict plus ``sequence`` and ``n_frames``.
    """
    config = read_run_config(run_dir)
    frames = scan_files(sequence_dir, scan_extension(config))
    log.info("predict: %d scan files in %s", len(frames), sequence_dir)
    with tempfile.TemporaryDirectory(prefix="fer4d-predict-") as tmp:
        vertices = register_sequence(frames, config, Path(tmp), device, config.get("seed", 0) if seed is None else seed)
    result = classify_vertices(vertices, run_dir, device)
    return {"sequence": str(sequence_dir), "n_frames": len(vertices), **result}
