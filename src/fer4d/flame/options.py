"""Options of the FLAME model choice (config section ``flame``)."""

from __future__ import annotations

from dataclasses import dataclass

from fer4d.options import SectionOptions


@dataclass(frozen=True)
class FlameOptions(SectionOptions):
    """``model``: a FLAME model file (pkl in metres or a ``fer4d flame to-npz`` file), or None
    for the built-in synthetic model; ``landmarks``: a landmark embedding to attach (None: the
    ``<stem>_landmarks.pkl`` beside the model if present)."""

    SECTION = "flame"

    model: str | None = None
    landmarks: str | None = None
