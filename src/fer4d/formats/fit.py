"""The fit file (``results/fit/{subject}/{label}.h5``, written by stage ``fit``; format in
docs/architecture.md): ``write_fit`` and ``read_fit``, the only code that opens one."""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d import __version__
from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError

PER_FRAME_PARAMS = ("expression", "pose", "translation", "camera")
"""Fit parameters with one row per frame (sliced when frames are dropped)."""


@dataclass
class FitSequence:
    """One fit file's content; arrays have T rows (per frame).

    ``vertices (T, V, 3)`` float32 mm, head pose removed; ``vertices_scan (T, V, 3)`` float32 mm
    in the scan's frame (read only when asked for, else None); ``faces (F, 3)`` int32;
    ``frame_index (T,)`` int32; ``quality``: name → (T,); ``params``: name → (T, ...) for
    :data:`PER_FRAME_PARAMS`, per-sequence arrays otherwise (``shape``, ``scan_to_model (4, 4)``).
    """

    path: str
    subject: str
    label: str
    vertices: np.ndarray
    faces: np.ndarray
    frame_index: np.ndarray
    quality: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    vertices_scan: np.ndarray | None = None

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
            None if self.vertices_scan is None else self.vertices_scan[rows],
        )


def write_fit(
    path: str | os.PathLike,
    arrays: dict[str, np.ndarray],
    subject: str,
    label: str,
    status: str,
    reason: str | None = None,
) -> None:
    """Write a fit ``.h5`` atomically; ``reason`` (attribute) says why an ``empty`` fit has no frames.

    arrays: name → array with names as in the contract ("vertices", "vertices_scan", "faces",
    "frame_index", "params/…", "quality/…"); vertex arrays are chunked per frame and compressed.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, array in arrays.items():
            array = np.asarray(array)
            per_frame = name.startswith("vertices") and array.shape[0] > 0
            f.create_dataset(
                name,
                data=array,
                chunks=(1, *array.shape[1:]) if per_frame else None,
                compression="gzip" if per_frame else None,
            )
        f.attrs.update(
            {
                "subject": subject,
                "label": label,
                "status": status,
                "n_frames": len(arrays["frame_index"]),
                "fer4d_version": __version__,
            }
        )
        if reason is not None:
            f.attrs["reason"] = reason


def read_fit(path: str | os.PathLike, with_scan: bool = False) -> FitSequence | None:
    """Read a fit file; ``None`` when its status is ``empty`` (no usable frames). ``with_scan``
    also reads ``vertices_scan``. A file that is not a fit file raises InputFileError."""
    try:
        with h5py.File(path, "r") as f:
            if str(f.attrs.get("status", "")) == "empty":
                return None
            missing = [name for name in ("vertices", "faces", "frame_index") if name not in f]
            if with_scan and "vertices_scan" not in f:
                missing.append("vertices_scan")
            if missing or "subject" not in f.attrs or "label" not in f.attrs:
                raise InputFileError(path, f"not a fit file: missing {missing or 'subject/label attrs'}")
            return FitSequence(
                path=str(path),
                subject=str(f.attrs["subject"]),
                label=str(f.attrs["label"]),
                vertices=f["vertices"][()].astype(np.float32),
                faces=f["faces"][()].astype(np.int32),
                frame_index=f["frame_index"][()].astype(np.int32),
                quality={k: v[()] for k, v in f.get("quality", {}).items()},
                params={k: v[()] for k, v in f.get("params", {}).items()},
                vertices_scan=f["vertices_scan"][()].astype(np.float32) if with_scan else None,
            )
    except OSError as err:
        raise InputFileError(path, f"cannot read fit file ({err})") from err


@dataclass(frozen=True)
class FitHeader:
    """A fit file's attributes without its arrays: ``subject``/``label`` (None when missing),
    ``status``, frame count, and for an ``empty`` fit the ``reason`` it was written with (or None)."""

    subject: str | None
    label: str | None
    status: str
    n_frames: int
    reason: str | None


def read_fit_header(path: str | os.PathLike) -> FitHeader:
    """Read a fit file's :class:`FitHeader` (no vertex arrays are loaded)."""
    try:
        with h5py.File(path, "r") as f:
            attrs = f.attrs
            return FitHeader(
                subject=str(attrs["subject"]) if "subject" in attrs else None,
                label=str(attrs["label"]) if "label" in attrs else None,
                status=str(attrs.get("status", "")),
                n_frames=len(f["vertices"]) if "vertices" in f else 0,
                reason=str(attrs["reason"]) if "reason" in attrs else None,
            )
    except OSError as err:
        raise InputFileError(path, f"cannot read fit ({err})") from err
