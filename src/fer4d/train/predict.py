"""``fer4d predict``: classify a new raw sequence (scans, or 2D frames or a video) with the trained
models of a workflow run.

The run folder (the workflow's ``results/``) holds ``config.json``: the run's resolved config,
whose ``run`` section names (relative to the run folder) the mesh hierarchy and each fold's
auto-encoder and transformer checkpoints, as the workflow wrote them. The sequence goes through the same stages as in training — ingestion and FLAME fitting with the
run's options (in a temporary folder) — then each fold's encoder embeds its frames and that
fold's transformer classifies them; the class probabilities are averaged over the folds.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.fit import read_fit
from fer4d.formats.ingested import read_quarantine
from fer4d.io.layouts import list_frames
from fer4d.io.readers import SCAN_EXTENSIONS
from fer4d.landmarks.frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from fer4d.train.classifier.inference import load_classifier

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


@dataclass(frozen=True)
class FoldModels:
    """One fold's trained models: ``autoencoder.pt`` and ``transformer.pt`` checkpoints."""

    fold: int
    autoencoder: Path
    transformer: Path


def run_models(run_dir: str | os.PathLike, config: dict[str, Any]) -> tuple[Path, list[FoldModels]]:
    """The run's mesh hierarchy and every fold's checkpoints, as listed in its config's ``run``
    section (paths relative to ``run_dir``); each must exist."""
    run_dir = Path(run_dir)
    listed = config.get("run")
    if not isinstance(listed, dict) or "hierarchy" not in listed or not listed.get("folds"):
        raise InputFileError(run_dir / "config.json", "no 'run' section listing the hierarchy and fold models")
    hierarchy = run_dir / listed["hierarchy"]
    folds = [
        FoldModels(int(entry["fold"]), run_dir / entry["autoencoder"], run_dir / entry["transformer"])
        for entry in listed["folds"]
    ]
    for path in (hierarchy, *(p for fold in folds for p in (fold.autoencoder, fold.transformer))):
        if not path.is_file():
            raise InputFileError(path, "listed in the run's config.json but missing: is the run complete?")
    return hierarchy, folds


def scan_files(sequence_dir: str | os.PathLike, extension: str) -> list[Path]:
    """The sequence's scan files in natural order (2 before 10), listed as dataset discovery
    lists them (``fer4d.io.layouts.list_frames``, any letter case): files with the run's
    ``extension`` if there are any, else those of the first other supported format present."""
    folder = Path(sequence_dir)
    if not folder.is_dir():
        raise InputFileError(folder, "not a folder of scan files")
    preferred = "." + extension.lower().lstrip(".")
    for suffix in (preferred, *(s for s in SCAN_EXTENSIONS if s != preferred)):
        files = list_frames(folder, suffix)
        if files:
            return files
    raise InputFileError(folder, f"contains no scan files ({' '.join(SCAN_EXTENSIONS)})")


def scan_extension(config: dict[str, Any]) -> str:
    """The scan file extension the run was trained on."""
    if config.get("dataset", {}).get("source", "synthetic") == "synthetic":
        return config.get("synthetic", {}).get("format", "wrl")
    return config["dataset"].get("extension", "wrl")


def register_sequence(
    frames: list[Path], config: dict[str, Any], work_dir: Path, device: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ingest and FLAME-fit ``frames`` with the run's options → registered vertices ``(T, V, 3)``
    and the subject's neutral mesh ``(V, 3)`` (``FlameModel.neutral`` of the fitted shape), float32 mm."""
    from fer4d.fitting import FitOptions, fit_sequence_file
    from fer4d.io.ingest import ingest_sequence
    from fer4d.io.options import IngestOptions

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
    return registered_result(fitted, work_dir / "quarantine.json", frames[0].parent, config["flame"]["model"])


def registered_result(
    fitted: Path, quarantine: Path, source: str | os.PathLike, model_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """A fit file's registered vertices ``(T, V, 3)`` and neutral mesh ``(V, 3)``, float32 mm; a fit
    without frames raises InputFileError naming ``source`` with the first quarantined problems."""
    from fer4d.flame.files import load_flame

    fit = read_fit(fitted)
    vertices = np.zeros((0, 0, 3), np.float32) if fit is None else fit.vertices
    if len(vertices) == 0:
        problems = read_quarantine(quarantine)
        detail = "; ".join(f"{p['file']}: {p['problem']}" for p in problems[:5])
        raise InputFileError(source, f"no usable frames after registration ({detail})")
    neutral = load_flame(model_path).neutral(fit.params.get("shape", np.zeros(0)))
    return vertices, neutral.astype(np.float32)


def register_video(source: Path, config: dict[str, Any], work_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 2D path: detect the face landmarks of ``source`` (an image folder or a video) and fit
    FLAME to them with the run's options → as :func:`register_sequence`."""
    from fer4d.fitting.landmark_stage import fit_landmark_file
    from fer4d.fitting.landmarks import LandmarkFitOptions
    from fer4d.landmarks.options import LandmarkOptions
    from fer4d.landmarks.stage import detect_sequence

    landmarks, fitted, quarantine = work_dir / "landmarks.h5", work_dir / "fit.h5", work_dir / "quarantine.json"
    subject = (source.parent.name if source.is_file() else source.parent.parent.name) or "unknown"
    detect_sequence(source, landmarks, quarantine, subject, "unknown", LandmarkOptions.from_dict(config["landmarks"]))
    fit_landmark_file(landmarks, config["flame"]["model"], fitted, LandmarkFitOptions.from_dict(config["landmark_fit"]))
    return registered_result(fitted, quarantine, source, config["flame"]["model"])


def classify_vertices(
    vertices: np.ndarray, neutral: np.ndarray, hierarchy: Path, folds: list[FoldModels], device: str = "auto"
) -> dict[str, Any]:
    """Embed and classify registered ``vertices (T, V, 3)`` mm of a subject with neutral mesh
    ``neutral (V, 3)`` mm with every fold's models of a run.

    Returns ``{"label", "probabilities": {label: p}, "folds": [{"fold", "label", "probabilities"}]}``
    with the probabilities averaged over the folds (whose classifiers must share one label set).
    """
    from fer4d.train.embed import encode_frames, load_encoder

    per_fold, labels = [], None
    for fold in folds:
        encoder = load_encoder(fold.autoencoder, hierarchy, device)
        embedding = np.asarray(encode_frames(encoder, vertices, neutral), dtype=np.float32)  # (T, d)
        classifier = load_classifier(fold.transformer, device)
        if labels is not None and classifier.labels != labels:
            raise InputFileError(fold.transformer, f"classes {classifier.labels} differ from the other folds' {labels}")
        labels = classifier.labels
        probs = classifier.probabilities([embedding])[0]
        per_fold.append(
            {
                "fold": fold.fold,
                "label": labels[int(probs.argmax())],
                "probabilities": dict(zip(labels, map(float, probs))),
            }
        )
    mean = np.mean([list(f["probabilities"].values()) for f in per_fold], axis=0)
    return {
        "label": labels[int(mean.argmax())],
        "probabilities": dict(zip(labels, map(float, mean))),
        "folds": per_fold,
    }


def predict_sequence(
    sequence_dir: str | os.PathLike, run_dir: str | os.PathLike, device: str = "auto", seed: int | None = None
) -> dict[str, Any]:
    """Classify the raw sequence at ``sequence_dir`` with the run in ``run_dir``: a folder of scan
    files, or, where the run took the 2D path (its frames were images or videos), a folder of
    frames or a video file.

    Returns :func:`classify_vertices`'s dict plus ``sequence`` and ``n_frames``.
    """
    config = read_run_config(run_dir)
    hierarchy, folds = run_models(run_dir, config)
    source = Path(sequence_dir)
    with tempfile.TemporaryDirectory(prefix="fer4d-predict-") as tmp:
        if f".{scan_extension(config).lower()}" in (*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS):
            if not source.exists():
                raise InputFileError(source, "no such folder of frames or video file")
            log.info("predict: the 2D path on %s", source)
            vertices, neutral = register_video(source, config, Path(tmp))
        else:
            frames = scan_files(sequence_dir, scan_extension(config))
            log.info("predict: %d scan files in %s", len(frames), sequence_dir)
            vertices, neutral = register_sequence(
                frames, config, Path(tmp), device, config.get("seed", 0) if seed is None else seed
            )
    result = classify_vertices(vertices, neutral, hierarchy, folds, device)
    return {"sequence": str(sequence_dir), "n_frames": len(vertices), **result}
