"""Stage ``store``: gather per-sequence fit files into one HDF5 store with folds.

Schema: docs/store-schema.md; the file itself is written by ``fer4d.formats.store.StoreWriter``
(under a temporary name, renamed at the end), the fits are read with ``fer4d.formats.fit``.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from fer4d.atomic import write_json
from fer4d.errors import InputFileError
from fer4d.flame.files import load_flame
from fer4d.flame.model import FlameModel
from fer4d.flame.regions import expression_regions
from fer4d.formats.fit import FitSequence, read_fit, read_fit_header
from fer4d.formats.store import StoreWriter, sequence_key
from fer4d.labels import LabelOptions
from fer4d.progress import progress
from fer4d.store.folds import make_folds
from fer4d.store.options import FoldOptions, StoreOptions

log = logging.getLogger(__name__)


def empty_fit_reason(path: str | os.PathLike) -> str:
    """Why the ``empty`` fit at ``path`` has no frames: the fit's own reason when it failed, else
    that ingestion left no usable frames (its quarantine says which files and why)."""
    reason = read_fit_header(path).reason
    if reason is not None:
        return reason
    return "fit has no usable frames (status empty): ingestion left none, see the ingest quarantine"


def apply_quality_policy(seq: FitSequence, options: StoreOptions) -> tuple[FitSequence | None, dict | None]:
    """Apply the quality policy → (kept sequence or None, what was dropped and why, or None)."""
    flagged = seq.quality.get("flagged", np.zeros(len(seq.frame_index), bool)).astype(bool)
    key = sequence_key(seq.subject, seq.label)
    if options.quality_policy == "drop_flagged_sequences" and flagged.mean() > options.max_flagged_fraction:
        return None, {
            "file": seq.path,
            "key": key,
            "reason": f"{flagged.sum()}/{len(flagged)} frames flagged as poor fits "
            f"(more than max_flagged_fraction={options.max_flagged_fraction})",
        }
    dropped = None
    if options.quality_policy == "drop_flagged_frames" and flagged.any():
        dropped = {
            "file": seq.path,
            "key": key,
            "frames": seq.frame_index[flagged].tolist(),
            "reason": "frames flagged as poor fits",
        }
        seq = seq.keep(~flagged)
    if len(seq.frame_index) < options.min_frames:
        return None, {
            "file": seq.path,
            "key": key,
            "reason": f"{len(seq.frame_index)} frames left, fewer than min_frames={options.min_frames}",
        }
    return seq, dropped


def neutral_mesh(seq: FitSequence, model: FlameModel) -> np.ndarray:
    """The sequence's neutral mesh ``(V, 3)`` mm: the template plus the fitted identity
    blendshapes; for a registered-mesh sequence (no ``params/shape``: no fit, no identity), its
    first frame, where such datasets start from a neutral face (CoMA's sequences do)."""
    if "shape" in seq.params:
        return model.neutral(seq.params["shape"])
    return seq.vertices[0]


def build_store(
    fit_paths: list[str | os.PathLike],
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    report_path: str | os.PathLike,
    options: StoreOptions,
    folds: FoldOptions,
    config_hash: str,
    seed: int,
    subjects: list[str] | None = None,
    labels: LabelOptions | None = None,
) -> dict:
    """Gather fit files into ``out_path`` (HDF5) and write what was dropped to ``report_path``.

    The template is the FLAME model's own (``model_path``: its ``v_template`` in mm, its faces
    and its mouth/eyes/brows regions), the mesh every fit deforms; each sequence gets its neutral
    mesh (:func:`neutral_mesh`); a fit whose vertex count or faces differ from it is
    refused with an error naming its file. ``subjects``: every subject the workflow planned
    folds for (default: the subjects of the kept sequences); under ``loso`` each gets its fold,
    so the number of folds never depends on which sequences survive (see ``fold_count``).
    ``labels``: the run's label set (default: the six emotions); a fit of another label is
    refused with an error naming its file.
    """
    labels = labels or LabelOptions()
    model = load_flame(model_path)
    template_vertices, template_faces = model.v_template.astype(np.float32), model.faces.astype(np.int32)
    dropped_sequences: list[dict] = []
    dropped_frames: list[dict] = []
    kept: list[tuple[str, str, str, int]] = []  # key, subject, label, n_frames
    with StoreWriter(out_path, options.compression, options.compression_level, labels.names) as store:
        for path in progress(list(fit_paths), "store: gathering fits", logger=log):
            seq = read_fit(path)
            if seq is None:
                dropped_sequences.append({"file": str(path), "reason": empty_fit_reason(path)})
                continue
            _check(seq, template_vertices, template_faces)
            seq, dropped = apply_quality_policy(seq, options)
            if dropped is not None:
                (dropped_frames if seq is not None else dropped_sequences).append(dropped)
            if seq is None:
                continue
            if sequence_key(seq.subject, seq.label) in store:
                raise InputFileError(path, f"a second sequence for {sequence_key(seq.subject, seq.label)}")
            kept.append(
                (store.add_sequence(seq, neutral_mesh(seq, model)), seq.subject, seq.label, len(seq.frame_index))
            )
        if not kept:
            raise ValueError(f"no usable sequence among {len(fit_paths)} fit files")
        keys, kept_subjects, labels, n_frames = map(list, zip(*kept))
        fold_list = make_folds(keys, kept_subjects, labels, folds, seed, subjects)
        store.finish(
            template_vertices,
            template_faces,
            fold_list,
            {"scheme": folds.scheme, "seed": seed, "val_fraction": folds.val_fraction, "repeats": folds.repeats},
            config_hash,
            {"sequences": dropped_sequences, "frames": dropped_frames},
            expression_regions(model),
        )
    report = {
        "kept_sequences": len(keys),
        "kept_frames": int(sum(n_frames)),
        "subjects": sorted(set(kept_subjects)),
        "dropped_sequences": dropped_sequences,
        "dropped_frames": dropped_frames,
        "quality_policy": options.quality_policy,
    }
    write_json(report_path, report)
    log.info(
        "store: %d sequences (%d frames) from %d subjects; dropped %d sequences, frames of %d; %d folds",
        report["kept_sequences"],
        report["kept_frames"],
        len(report["subjects"]),
        len(dropped_sequences),
        len(dropped_frames),
        len(fold_list),
    )
    return report


def _check(seq: FitSequence, template_vertices: np.ndarray, template_faces: np.ndarray) -> None:
    """A fit must have the template's topology; else InputFileError naming it."""
    if seq.vertices.shape[1] != len(template_vertices) or not np.array_equal(seq.faces, template_faces):
        raise InputFileError(
            seq.path,
            f"topology differs from the template ({seq.vertices.shape[1]} vertices, "
            f"{len(seq.faces)} faces; the FLAME model has {len(template_vertices)} vertices, "
            f"{len(template_faces)} faces): all fits must use the workflow's FLAME model",
        )
