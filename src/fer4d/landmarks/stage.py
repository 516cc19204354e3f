"""Stage ``landmarks``: one 2D sequence (image folder or video) → landmark ``.h5`` + quarantine.

A frame that cannot be decoded or shows no face is quarantined with its reason and kept as an
invalid row; a sequence with fewer than ``min_frames`` frames with a face is written with status
``empty`` (so one bad sequence never stops a run); ``strict`` raises the first problem instead.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from fer4d.errors import Quarantine
from fer4d.formats.ingested import write_quarantine
from fer4d.formats.landmarks import LandmarkSequence, write_landmarks
from fer4d.landmarks.detector import FaceMeshDetector
from fer4d.landmarks.frames import IMAGE_EXTENSIONS, sequence_frames
from fer4d.landmarks.options import LandmarkOptions
from fer4d.progress import progress

log = logging.getLogger(__name__)


def detect_sequence(
    source: str | os.PathLike | list[str | os.PathLike],
    out_path: str | os.PathLike,
    quarantine_path: str | os.PathLike,
    subject: str,
    label: str,
    options: LandmarkOptions | None = None,
    strict: bool = False,
) -> dict:
    """Detect the face landmarks of every frame of ``source`` (a folder of images, a video file or
    a list of image files) and write them to ``out_path`` (``fer4d.formats.landmarks``).

    Returns a summary: subject, label, status, frames, valid, quarantined, image_size,
    ms_per_frame (detection only, decoding excluded), tracked (frames found by tracking).
    """
    options = options or LandmarkOptions()
    quarantine = Quarantine(strict)
    rows: list[np.ndarray | None] = []
    scores, sources, tracked = [], [], 0
    image_size = None
    detect_s, decoded = 0.0, 0
    with FaceMeshDetector(options) as detector:
        for frame in progress(sequence_frames(source), "landmarks: frames", logger=log):
            sources.append(frame.source)
            detection = None
            if frame.image is None:
                quarantine.add(_frame_name(frame.source, frame.index), frame.problem)
            else:
                image_size = image_size or frame.image.shape[:2]
                decoded += 1
                start = time.perf_counter()
                detection = detector.detect(frame.image)
                detect_s += time.perf_counter() - start
                if detection is None:
                    quarantine.add(_frame_name(frame.source, frame.index), "no face found")
            rows.append(None if detection is None else detection.points)
            scores.append(0.0 if detection is None else detection.score)
            tracked += bool(detection is not None and detection.tracked)
        n_points, name = detector.n_points, detector.name
    valid = np.array([row is not None for row in rows], bool)
    points = np.full((len(rows), n_points, 3), np.nan, np.float32)
    for t, row in enumerate(rows):
        if row is not None:
            points[t] = row
    if not rows:
        quarantine.add(_sequence_name(source, out_path), "no frames in this sequence")
    elif valid.sum() < options.min_frames:
        quarantine.add(
            _sequence_name(source, out_path),
            f"only {int(valid.sum())} frame(s) with a face; a sequence needs at least {options.min_frames}",
        )
    status = "ok" if valid.sum() >= options.min_frames else "empty"
    sequence = LandmarkSequence(
        subject, label, points, valid, np.array(scores, np.float32), image_size or (0, 0), sources, name, status
    )
    write_landmarks(out_path, sequence)
    write_quarantine(quarantine_path, quarantine.items)
    summary = {
        "subject": subject,
        "label": label,
        "status": status,
        "frames": len(rows),
        "valid": int(valid.sum()),
        "quarantined": len(quarantine.items),
        "image_size": list(image_size or (0, 0)),
        "ms_per_frame": round(1000 * detect_s / max(decoded, 1), 2),
        "tracked": tracked,
    }
    log.info("landmarks %s/%s: %s", subject, label, json.dumps(summary))
    return summary


def _frame_name(source: str, index: int) -> str:
    """A frame's name in the quarantine: its file, or ``video.mp4#frame 12``."""
    return source if Path(source).suffix.lower() in IMAGE_EXTENSIONS else f"{source}#frame {index}"


def _sequence_name(source, out_path) -> str:
    """The sequence's name in the quarantine: its folder or video (a list of files: the output's folder)."""
    return str(Path(out_path).parent) if isinstance(source, list | tuple) else str(source)
