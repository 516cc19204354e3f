"""The fit stage's output file: writing a fit ``.h5`` (format in docs/architecture.md).
Ingested sequences are read with ``fer4d.io.read_sequence``."""

from __future__ import annotations

import os

import h5py
import numpy as np

from fer4d import __version__
from fer4d.atomic import atomic_path


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
