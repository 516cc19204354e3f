"""The fit stage's files: reading an ingested sequence ``.h5`` and writing a fit ``.h5``
(formats in docs/architecture.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d import __version__
from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError

FRAME_KEYS = ("vertices", "faces", "vertex_offsets", "face_offsets", "frame_index")


@dataclass
class SequenceFrames:
    """What fitting needs from an ingested sequence.

    frames: per frame (vertices (N_t, 3) float32 mm, faces (F_t, 3) int32);
    frame_index: (T,) int32; truth_vertices: (T, V, 3) mm in the scan frame, or None;
    subject, label, status ("ok" / "empty").
    """

    frames: list[tuple[np.ndarray, np.ndarray]]
    frame_index: np.ndarray
    truth_vertices: np.ndarray | None
    subject: str
    label: str
    status: str


def read_sequence_frames(path: str | os.PathLike) -> SequenceFrames:
    """Read the ragged frames (and ground-truth vertices, if any) of an ingested sequence."""
    try:
        with h5py.File(path, "r") as f:
            attrs = {key: f.attrs.get(key) for key in ("subject", "label", "status")}
            if any(value is None for value in attrs.values()):
                raise InputFileError(path, "missing attrs subject/label/status: not an ingested sequence")
            status = str(attrs["status"])
            if status == "empty":
                frames, frame_index, truth = [], np.zeros(0, np.int32), None
            else:
                group = f.get("frames")
                if group is None or any(key not in group for key in FRAME_KEYS):
                    raise InputFileError(path, f"needs frames/{{{', '.join(FRAME_KEYS)}}}")
                vertices, faces = group["vertices"][()], group["faces"][()]
                v_off, f_off = group["vertex_offsets"][()], group["face_offsets"][()]
                frame_index = group["frame_index"][()].astype(np.int32)
                if len(v_off) != len(f_off) or len(v_off) != len(frame_index) + 1 or v_off[-1] != len(vertices):
                    raise InputFileError(path, "frame offsets do not match the frame arrays")
                frames = [(vertices[v_off[t]:v_off[t + 1]].astype(np.float32),
                           faces[f_off[t]:f_off[t + 1]].astype(np.int32))
                          for t in range(len(frame_index))]
                truth = f["ground_truth/vertices"][()] if "ground_truth/vertices" in f else None
    except OSError as err:
        raise InputFileError(path, f"cannot read HDF5 sequence ({err})") from err
    if status not in ("ok", "empty"):
        raise InputFileError(path, f"unknown status {status!r} (expected 'ok' or 'empty')")
    if status == "ok" and (not frames or any(len(points) == 0 for points, _ in frames)):
        raise InputFileError(path, "status 'ok' but a frame has no vertices")
    if truth is not None and len(truth) != len(frames):
        raise InputFileError(path, f"ground_truth/vertices has {len(truth)} frames, expected {len(frames)}")
    return SequenceFrames(frames, frame_index, truth, str(attrs["subject"]), str(attrs["label"]), status)


def write_fit(path: str | os.PathLike, arrays: dict[str, np.ndarray], subject: str, label: str,
              status: str) -> None:
    """Write a fit ``.h5`` atomically.

    arrays: name → array with names as in the contract ("vertices", "vertices_scan", "faces",
    "frame_index", "params/…", "quality/…"); vertex arrays are chunked per frame and compressed.
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, array in arrays.items():
                array = np.asarray(array)
                per_frame = name.startswith("vertices") and array.shape[0] > 0
                f.create_dataset(name, data=array, chunks=(1, *array.shape[1:]) if per_frame else None,
                                 compression="gzip" if per_frame else None)
            f.attrs.update({"subject": subject, "label": label, "status": status,
                            "n_frames": int(len(arrays["frame_index"])), "fer4d_version": __version__})
