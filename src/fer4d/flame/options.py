"""Options of the FLAME model choice (config section ``flame``)."""

from __future__ import annotations

from dataclasses import dataclass

from fer4d.options import SectionOptions


@dataclass(frozen=True)
class FlameOptions(SectionOptions):
    """``model``: a FLAME model file (pkl in metres or a ``fer4d flame to-npz`` file), or None
    for the built-in synthetic model. (Registration is landmark-free; ``fer4d flame to-npz
    --landmarks`` attaches a landmark embedding to a model file.)"""

    SECTION = "flame"

    model: str | None = None
