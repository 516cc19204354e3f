"""The landmark file (``results/landmarks/{subject}/{label}.h5``, written by stage ``landmarks``;
format in docs/architecture.md): ``write_landmarks`` and ``read_landmarks``, the only code that
opens one.

Every frame of the sequence has a row, with or without a face: ``valid`` says which rows hold
landmarks (the others are NaN), so that frame ``t`` of the file is frame ``t`` of the video.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d import __version__
from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError


@dataclass
class LandmarkSequence:
    """One sequence's detected face landmarks.

    ``points (T, L, 3)`` float32, pixels: x right and y down from the image's top-left corner,
    z the detector's relative depth in the same pixel scale (smaller = nearer the camera), NaN
    where ``valid`` is False; ``valid (T,)`` bool; ``scores (T,)`` float32 in [0, 1], the face
    detector's confidence (0 where it found no face box and the tracker kept the face);
    ``image_size`` (height, width) pixels; ``sources``: each frame's file, or the video file for
    every frame; ``detector``: name and version of the detector and its point set; ``status``:
    ``ok`` or ``empty`` (too few frames with a face).
    """

    subject: str
    label: str
    points: np.ndarray
    valid: np.ndarray
    scores: np.ndarray
    image_size: tuple[int, int]
    sources: list[str]
    detector: str
    status: str = "ok"

    @property
    def n_frames(self) -> int:
        return len(self.valid)


def write_landmarks(path: str | os.PathLike, sequence: LandmarkSequence) -> None:
    """Write ``sequence`` to ``path`` atomically (a killed job leaves no half file)."""
    n = sequence.n_frames
    for name in ("points", "scores"):
        if len(getattr(sequence, name)) != n:
            raise ValueError(f"landmarks: {name} has {len(getattr(sequence, name))} rows, valid {n}")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("points", data=np.asarray(sequence.points, np.float32), compression="gzip")
        f.create_dataset("valid", data=np.asarray(sequence.valid, bool))
        f.create_dataset("scores", data=np.asarray(sequence.scores, np.float32))
        f.create_dataset("sources", data=np.array(sequence.sources, dtype=h5py.string_dtype()))
        f.attrs.update(
            {
                "subject": sequence.subject,
                "label": sequence.label,
                "status": sequence.status,
                "image_height": int(sequence.image_size[0]),
                "image_width": int(sequence.image_size[1]),
                "detector": sequence.detector,
                "n_frames": n,
                "fer4d_version": __version__,
            }
        )


def is_landmark_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file laid out as a landmark file (else, e.g., an ingested scan
    sequence); False for anything h5py cannot open."""
    try:
        with h5py.File(path, "r") as f:
            return "points" in f and "valid" in f and "detector" in f.attrs
    except OSError:
        return False


def read_landmarks(path: str | os.PathLike) -> LandmarkSequence:
    """Read a landmark file; a file that is not one raises InputFileError naming it."""
    try:
        with h5py.File(path, "r") as f:
            missing = [name for name in ("points", "valid", "scores", "sources") if name not in f]
            missing += [name for name in ("subject", "label", "image_height", "image_width") if name not in f.attrs]
            if missing:
                raise InputFileError(path, f"not a landmark file: missing {missing}")
            return LandmarkSequence(
                subject=str(f.attrs["subject"]),
                label=str(f.attrs["label"]),
                points=f["points"][()].astype(np.float32),
                valid=f["valid"][()].astype(bool),
                scores=f["scores"][()].astype(np.float32),
                image_size=(int(f.attrs["image_height"]), int(f.attrs["image_width"])),
                sources=[s.decode() if isinstance(s, bytes) else str(s) for s in f["sources"][()]],
                detector=str(f.attrs.get("detector", "")),
                status=str(f.attrs.get("status", "ok")),
            )
    except OSError as err:
        raise InputFileError(path, f"cannot read landmark file ({err})") from err
