"""Which sequence the report draws: the first candidate that the store kept.

The workflow knows every sequence before it runs, but not which will survive ingestion,
fitting and the store's quality policy; the report therefore gets every candidate and draws
one that was kept, so a dropped (say empty) first sequence never costs the report.
"""

from __future__ import annotations

import os

from fer4d.formats.fit import read_fit_header
from fer4d.formats.store import MeshStore, sequence_key

PathLike = str | os.PathLike


def _fit_key(fit_path: PathLike) -> tuple[str | None, int]:
    """The fit's store key (None without subject/label) and its frame count."""
    header = read_fit_header(fit_path)
    key = (
        sequence_key(header.subject, header.label) if header.subject is not None and header.label is not None else None
    )
    return key, header.n_frames


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
