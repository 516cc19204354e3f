"""Dataset layouts: find every sequence under a root folder, with its subject, label and frames.

``bu4dfe``: ``{subject}/{Angry|Disgust|Fear|Happy|Sad|Surprise}/{frame}.wrl``;
``generic``: ``{subject}/{expression}/{frame}.{ext}`` (scans or images; or one video file);
``mug``: ``{subject}/{expression}/{take}/img_NNNN.jpg`` (MUG's image sequences: the first take
that has frames is the sequence, the others are logged as skipped). In all, expression folder
names map to the run's label set through ``fer4d.labels.LabelOptions.folder_label`` (MUG's
``neutral`` is a class only where the set names it).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fer4d.labels import LabelOptions

log = logging.getLogger(__name__)

LAYOUTS = ("bu4dfe", "generic", "mug")


@dataclass
class SequenceEntry:
    """One sequence: ``frames`` are the scan files in natural order."""

    subject: str
    label: str
    folder: Path
    frames: list[Path]


def natural_key(name: str) -> list:
    """Sort key that orders ``2`` before ``10`` (numbers compared as numbers)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_frames(folder: Path, extensions: str | tuple[str, ...]) -> list[Path]:
    """The files of ``folder`` ending in ``extensions`` (one or several, any letter case), in
    natural order. Anything but a folder is listed, a dangling link too: its reader then names
    the file and the problem, where skipping it would lose a frame without a word."""
    suffixes = tuple(
        "." + e.lower().lstrip(".") for e in ((extensions,) if isinstance(extensions, str) else extensions)
    )
    with os.scandir(folder) as entries:  # directory entries carry their type: no stat per file
        names = [e.name for e in entries if e.name.lower().endswith(suffixes) and not e.is_dir()]
    return [folder / name for name in sorted(names, key=natural_key)]


def _expression_folders(root: Path, layout: str, labels: LabelOptions):
    """Yield ``(subject_dir, expression_dir, label or None)`` for every two-level folder under ``root``."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset root is not a folder")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    for subject_dir in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
        for expression_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            yield subject_dir, expression_dir, labels.folder_label(expression_dir.name)


def unknown_label_folders(
    root: str | os.PathLike, layout: str = "bu4dfe", labels: LabelOptions | None = None
) -> list[Path]:
    """Expression folders under ``root`` whose name maps to no label (what discovery skips)."""
    found = _expression_folders(Path(root), layout, labels or LabelOptions())
    return [folder for _, folder, label in found if label is None]


def discover_sequences(
    root: str | os.PathLike,
    layout: str = "bu4dfe",
    extension: str = "wrl",
    labels: LabelOptions | None = None,
    unknown_labels: str = "skip",
) -> list[SequenceEntry]:
    """Every ``{subject}/{expression}`` folder under ``root``, sorted by subject and folder name.

    ``labels``: the run's label set (default: the six emotions). Folders whose expression maps to
    no label of the set are logged and skipped (``unknown_labels="skip"``;
    ``unknown_label_folders`` lists them) or raise ``ValueError`` (``"error"``). Folders without
    scan files are kept with an empty frame list, so that ingestion reports them instead of
    silently losing them.
    """
    if unknown_labels not in ("skip", "error"):
        raise ValueError(f"unknown_labels must be skip or error, got {unknown_labels!r}")
    entries, seen = [], set()
    for subject_dir, expression_dir, label in _expression_folders(Path(root), layout, labels or LabelOptions()):
        if label is None:
            message = f"{expression_dir}: expression folder maps to no label of labels.names (name it there, or map it in labels.aliases)"
            if unknown_labels == "error":
                raise ValueError(message)
            log.warning("skipped %s", message)
            continue
        if (subject_dir.name, label) in seen:
            raise ValueError(f"{expression_dir}: a second folder for {subject_dir.name}/{label}")
        seen.add((subject_dir.name, label))
        if layout == "mug":
            folder, frames = _first_take(expression_dir, extension)
        else:
            folder, frames = expression_dir, list_frames(expression_dir, extension)
        entries.append(SequenceEntry(subject_dir.name, label, folder, frames))
    return entries


def _first_take(expression_dir: Path, extension: str) -> tuple[Path, list[Path]]:
    """The first take folder (natural order) of a MUG expression folder that holds frames, and its
    frames; the expression folder and no frames when none does (so that the empty sequence is
    reported)."""
    takes = sorted((p for p in expression_dir.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
    with_frames = [(take, frames) for take in takes if (frames := list_frames(take, extension))]
    if len(with_frames) > 1:
        log.info("%s: %d takes, using %s", expression_dir, len(with_frames), with_frames[0][0].name)
    return with_frames[0] if with_frames else (expression_dir, [])
