"""Stage ``store``: gather per-sequence fit files into one HDF5 store with folds.

Schema: docs/store-schema.md. The store is written under a temporary name and renamed at the
end, so an interrupted run never leaves a file that looks complete.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d import LABELS, __version__
from fer4d.atomic import atomic_path, write_json
from fer4d.errors import InputFileError
from fer4d.progress import progress
from fer4d.store.folds import make_folds
from fer4d.store.options import FoldOptions, StoreOptions

log = logging.getLogger(__name__)

PER_FRAME_PARAMS = ("expression", "pose", "translation")
"""Fit parameters with one row per frame (sliced when frames are dropped)."""


def sequence_key(subject: str, label: str) -> str:
    """The store key of a sequence: ``{subject}__{label}``."""
    return f"{subject}__{label}"


@dataclass
class FitSequence:
    """One fit file's content as the store needs it; arrays have T rows (per frame)."""

    path: str
    subject: str
    label: str
    vertices: np.ndarray  # (T, V, 3) float32, mm
    faces: np.ndarray  # (F, 3) int32
    frame_index: np.ndarray  # (T,) int32
    quality: dict[str, np.ndarray]  # name -> (T,)
    params: dict[str, np.ndarray]  # name -> (T, ...) or per-sequence arrays

    def keep(self, rows: np.ndarray) -> FitSequence:
        """The same sequence restricted to frames ``rows`` (bool mask or indices)."""
        params = {k: (v[rows] if k in PER_FRAME_PARAMS else v) for k, v in self.params.items()}
        return FitSequence(
            self.path,
            self.subject,
            self.label,
            self.vertices[rows],
            self.faces,
            self.frame_index[rows],
            {k: v[rows] for k, v in self.quality.items()},
            params,
        )


def read_fit(path: str | os.PathLike) -> FitSequence | None:
    """Read a fit file; ``None`` when its status is ``empty`` (no usable frames)."""
    try:
        with h5py.File(path, "r") as f:
            if str(f.attrs.get("status", "")) == "empty":
                return None
            missing = [name for name in ("vertices", "faces", "frame_index") if name not in f]
            if missing or "subject" not in f.attrs or "label" not in f.attrs:
                raise InputFileError(path, f"not a fit file: missing {missing or 'subject/label attrs'}")
            label = str(f.attrs["label"])
            if label not in LABELS:
                raise InputFileError(path, f"unknown label {label!r}; expected one of {list(LABELS)}")
            return FitSequence(
                path=str(path),
                subject=str(f.attrs["subject"]),
                label=label,
                vertices=f["vertices"][()].astype(np.float32),
                faces=f["faces"][()].astype(np.int32),
                frame_index=f["frame_index"][()].astype(np.int32),
                quality={k: v[()] for k, v in f.get("quality", {}).items()},
                params={k: v[()] for k, v in f.get("params", {}).items()},
            )
    except OSError as err:
        raise InputFileError(path, f"cannot read fit file ({err})") from err


def empty_fit_reason(path: str | os.PathLike) -> str:
    """Why the ``empty`` fit at ``path`` has no frames: the fit's own reason when it failed, else
    that ingestion left no usable frames (its quarantine says which files and why)."""
    with h5py.File(path, "r") as f:
        reason = f.attrs.get("reason")
    if reason is not None:
        return str(reason)
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


def write_sequence(group: h5py.Group, seq: FitSequence, options: StoreOptions) -> None:
    n_vertices = seq.vertices.shape[1]
    compression = {
        "gzip": dict(compression="gzip", compression_opts=options.compression_level),
        "lzf": dict(compression="lzf"),
        "none": {},
    }[options.compression]
    group.create_dataset("vertices", data=seq.vertices, chunks=(1, n_vertices, 3), shuffle=True, **compression)
    group.create_dataset("frame_index", data=seq.frame_index)
    for name, values in seq.quality.items():
        group.create_dataset(f"quality/{name}", data=values)
    for name, values in seq.params.items():
        group.create_dataset(f"params/{name}", data=values)
    group.attrs.update(
        {
            "subject": seq.subject,
            "label": seq.label,
            "label_index": LABELS.index(seq.label),
            "n_frames": len(seq.frame_index),
            "source": seq.path,
        }
    )


def build_store(
    fit_paths: list[str | os.PathLike],
    out_path: str | os.PathLike,
    report_path: str | os.PathLike,
    options: StoreOptions,
    folds: FoldOptions,
    config_hash: str,
    seed: int,
) -> dict:
    """Gather fit files into ``out_path`` (HDF5) and write what was dropped to ``report_path``.

    The template is the first kept sequence's faces with, as vertices, the mean of every kept
    sequence's first frame (the neutral start of each sequence). A sequence whose vertex count
    or faces differ from the template's is refused with an error naming its file.
    """
    dropped_sequences: list[dict] = []
    dropped_frames: list[dict] = []
    kept_meta: list[tuple[str, str, str]] = []  # key, subject, label
    template_faces = None
    neutral_sum = None
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as store:
        sequences = store.create_group("sequences")
        for path in progress(list(fit_paths), "store: gathering fits", logger=log):
            seq = read_fit(path)
            if seq is None:
                dropped_sequences.append({"file": str(path), "reason": empty_fit_reason(path)})
                continue
            if template_faces is None:
                template_faces = seq.faces
                neutral_sum = np.zeros(seq.vertices.shape[1:], np.float64)
            elif seq.vertices.shape[1] != neutral_sum.shape[0] or not np.array_equal(seq.faces, template_faces):
                raise InputFileError(
                    path,
                    f"topology differs from the template ({seq.vertices.shape[1]} vertices, "
                    f"{len(seq.faces)} faces; template has {neutral_sum.shape[0]} vertices, "
                    f"{len(template_faces)} faces): all fits must use the same FLAME model",
                )
            seq, dropped = apply_quality_policy(seq, options)
            if dropped is not None:
                (dropped_frames if seq is not None else dropped_sequences).append(dropped)
            if seq is None:
                continue
            key = sequence_key(seq.subject, seq.label)
            if key in sequences:
                raise InputFileError(path, f"a second sequence for {key}")
            write_sequence(sequences.create_group(key), seq, options)
            neutral_sum += seq.vertices[0]
            kept_meta.append((key, seq.subject, seq.label))
        if not kept_meta:
            raise ValueError(f"no usable sequence among {len(fit_paths)} fit files")
        keys, subjects, labels = map(list, zip(*kept_meta))
        fold_list = make_folds(keys, subjects, labels, folds, seed)
        store.create_dataset("template/vertices", data=(neutral_sum / len(keys)).astype(np.float32))
        store.create_dataset("template/faces", data=template_faces)
        fold_group = store.create_group("folds")
        fold_group.attrs.update(
            {"scheme": folds.scheme, "k": len(fold_list), "seed": seed, "val_fraction": folds.val_fraction}
        )
        for i, fold in enumerate(fold_list):
            for split in ("train", "val", "test"):
                fold_group.create_dataset(
                    f"{i}/{split}", data=np.array(getattr(fold, split), dtype=object), dtype=h5py.string_dtype()
                )
        report = {
            "kept_sequences": len(keys),
            "kept_frames": int(sum(sequences[k].attrs["n_frames"] for k in keys)),
            "subjects": sorted(set(subjects)),
            "dropped_sequences": dropped_sequences,
            "dropped_frames": dropped_frames,
            "quality_policy": options.quality_policy,
        }
        store.attrs.update(
            {
                "labels": json.dumps(list(LABELS)),
                "fer4d_version": __version__,
                "config_hash": config_hash,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "dropped": json.dumps({"sequences": dropped_sequences, "frames": dropped_frames}),
            }
        )
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
