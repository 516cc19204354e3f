"""Options of the ``ingest`` stage (config section ``ingest``)."""

from __future__ import annotations

from dataclasses import dataclass

from fer4d.options import SectionOptions

CROPS = ("none", "component", "radius", "component+radius")


@dataclass(frozen=True)
class IngestOptions(SectionOptions):
    """``units``: ``auto`` guesses from the bounding box, per sequence (median over frames), or
    force ``mm`` / ``cm`` / ``m``. ``crop``: keep the largest connected component, and/or the
    points within ``crop_radius_mm`` of the median point. ``max_points``: subsample denser
    scans to this many vertices (0 = keep all). ``min_frames``: fewer usable frames make the
    sequence empty (quarantined)."""

    SECTION = "ingest"

    units: str = "auto"
    crop: str = "component"
    crop_radius_mm: float = 200.0
    max_points: int = 8000
    min_frames: int = 2

    def __post_init__(self) -> None:
        if self.units not in ("auto", "mm", "cm", "m"):
            raise ValueError(f"ingest.units must be auto, mm, cm or m, got {self.units!r}")
        if self.crop not in CROPS:
            raise ValueError(f"ingest.crop must be one of {CROPS}, got {self.crop!r}")
        if self.max_points < 0 or self.min_frames < 1 or self.crop_radius_mm <= 0:
            raise ValueError("ingest: need max_points >= 0, min_frames >= 1, crop_radius_mm > 0")
