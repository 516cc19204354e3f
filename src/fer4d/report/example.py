"""Which sequence the report draws: the first candidate that the store kept.

The workflow knows every sequence before it runs, but not which will survive ingestion,
fitting and the store's quality policy; the report therefore gets every candidate and draws
one that was kept, so a dropped (say empty) first sequence never costs the report.
"""

from __future__ import annotations

import os

import h5py

from fer4d.errors import InputFileError
from fer4d.store import MeshStore, sequence_key

PathLike = str | os.PathLike


def _fit_key(fit_path: PathLike) -> tuple[str | None, int]:
    """The fit's store key (None without subject/label) and its frame count."""
    try:
        with h5py.File(fit_path, "r") as f:
            subject, label = f.attrs.get("subject"), f.attrs.get("label")
            n_frames = len(f["vertices"]) if "vertices" in f else 0
    except OSError as err:
        raise InputFileError(fit_path, f"cannot read fit ({err})") from err
    key = sequence_key(str(subject), str(label)) if subject is not None and label is not None else None
    return key, n_frames


def choose_example(
    candidates: list[tuple[PathLike, PathLike | None]], store: PathLike | None = None
) -> tuple[PathLike, PathLike | None] | None:
    """The first ``(fit, ingested scan)`` pair whose fit has frames and, given a ``store``, whose
    sequence the store kept; None when there is none."""
    if not candidates:
        return None
    kept = None
    if store is not None:
        with MeshStore(store) as opened:
            kept = set(opened.keys())
    for fit_path, scan_path in candidates:
        key, n_frames = _fit_key(fit_path)
        if n_frames > 0 and (kept is None or key in kept):
            return fit_path, scan_path
    return None
