"""Dataset layouts: find every sequence under a root folder, with its subject, label and frames.

``bu4dfe``: ``{subject}/{Angry|Disgust|Fear|Happy|Sad|Surprise}/{frame}.wrl``;
``generic``: ``{subject}/{expression}/{frame}.{ext}``, expression names mapped through aliases.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fer4d import BU4DFE_FOLDERS, LABELS

log = logging.getLogger(__name__)

LABEL_FOLDERS = BU4DFE_FOLDERS

ALIASES = {
    "anger": ("angry", "anger", "an", "ang"),
    "disgust": ("disgust", "disgusted", "di", "dis"),
    "fear": ("fear", "fearful", "afraid", "fe"),
    "happiness": ("happy", "happiness", "ha", "hap", "joy"),
    "sadness": ("sad", "sadness", "sa"),
    "surprise": ("surprise", "surprised", "su", "sur"),
}


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


def label_for_folder(name: str, label_map: dict[str, str] | None = None) -> str | None:
    """Canonical label of an expression folder name, or None if it maps to none.

    The user's ``label_map`` (folder name → canonical label) wins over the built-in aliases;
    matching is case-insensitive.
    """
    for alias, label in (label_map or {}).items():
        if alias.lower() == name.lower():
            if label not in LABELS:
                raise ValueError(f"label_map maps {alias!r} to {label!r}, not one of {list(LABELS)}")
            return label
    lowered = name.lower()
    return next((label for label, names in ALIASES.items() if lowered in names), None)


def list_frames(folder: Path, extension: str) -> list[Path]:
    """Scan files with ``extension`` in ``folder``, in natural order."""
    suffix = "." + extension.lower().lstrip(".")
    with os.scandir(folder) as entries:  # directory entries carry their type: no stat per file
        names = [e.name for e in entries if e.name.lower().endswith(suffix) and e.is_file()]
    return [folder / name for name in sorted(names, key=natural_key)]


def _expression_folders(root: Path, layout: str, label_map: dict[str, str] | None):
    """Yield ``(subject_dir, expression_dir, label or None)`` for every two-level folder under ``root``."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: dataset root is not a folder")
    if layout not in ("bu4dfe", "generic"):
        raise ValueError(f"unknown layout {layout!r}; known: bu4dfe, generic")
    bu4dfe_names = {folder: label for label, folder in LABEL_FOLDERS.items()} if layout == "bu4dfe" else {}
    for subject_dir in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)):
        for expression_dir in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            label = bu4dfe_names.get(expression_dir.name) or label_for_folder(expression_dir.name, label_map)
            yield subject_dir, expression_dir, label


def unknown_label_folders(
    root: str | os.PathLike, layout: str = "bu4dfe", label_map: dict[str, str] | None = None
) -> list[Path]:
    """Expression folders under ``root`` whose name maps to no label (what discovery skips)."""
    return [folder for _, folder, label in _expression_folders(Path(root), layout, label_map) if label is None]


def discover_sequences(
    root: str | os.PathLike,
    layout: str = "bu4dfe",
    extension: str = "wrl",
    label_map: dict[str, str] | None = None,
    unknown_labels: str = "skip",
) -> list[SequenceEntry]:
    """Every ``{subject}/{expression}`` folder under ``root``, sorted by subject and folder name.

    Folders whose expression maps to no label are logged and skipped (``unknown_labels="skip"``;
    ``unknown_label_folders`` lists them) or raise ``ValueError`` (``"error"``). Folders without
    scan files are kept with an empty frame list, so that ingestion reports them instead of
    silently losing them.
    """
    if unknown_labels not in ("skip", "error"):
        raise ValueError(f"unknown_labels must be skip or error, got {unknown_labels!r}")
    entries, seen = [], set()
    for subject_dir, expression_dir, label in _expression_folders(Path(root), layout, label_map):
        if label is None:
            message = f"{expression_dir}: expression folder maps to no label (add it to dataset.label_map)"
            if unknown_labels == "error":
                raise ValueError(message)
            log.warning("skipped %s", message)
            continue
        if (subject_dir.name, label) in seen:
            raise ValueError(f"{expression_dir}: a second folder for {subject_dir.name}/{label}")
        seen.add((subject_dir.name, label))
        entries.append(SequenceEntry(subject_dir.name, label, expression_dir, list_frames(expression_dir, extension)))
    return entries
