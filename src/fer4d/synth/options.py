"""Options of the ``synthesize`` stage (config section ``synthetic``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fer4d.options import SectionOptions

UNITS = ("mm", "m")
FORMATS = ("wrl", "obj", "ply", "jpg", "png")
"""Scan formats, then image formats: the sequences are filmed (``fer4d.synth.video``), not scanned."""


@dataclass(frozen=True)
class SynthOptions(SectionOptions):
    """Knobs of the synthetic 4D expression dataset; defaults suit the small CPU default run.

    ``hole_fraction`` is the fraction of each scan's surface lost in random missing patches
    (eyes and nostrils are always open); ``outlier_fraction`` the fraction of scan vertices
    turned into spikes; ``fragments`` the number of stray hair/shoulder patches per scan
    (0 = none). ``difficulty`` scales individual style, intensity variation, partner-emotion
    blending and head motion: 0 = every subject performs the textbook prototypes, 0.75 (default)
    = apex 1-NN accuracy ~0.6, 1.5 = ~0.45 (see ``fer4d.synth.baseline``).
    """

    SECTION = "synthetic"

    subjects: int = 8
    frames_min: int = 24
    frames_max: int = 40
    noise_mm: float = 0.2
    hole_fraction: float = 0.01
    outlier_fraction: float = 0.002
    fragments: int = 2
    scan_points: int = 6000
    units: str = "mm"
    format: str = "wrl"
    difficulty: float = 0.75
    model_vertices: int = 1500
    image_size: int = 480
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.subjects < 1:
            problems.append(f"subjects must be >= 1, got {self.subjects}")
        if not 8 <= self.frames_min <= self.frames_max:
            problems.append(f"need 8 <= frames_min <= frames_max, got {self.frames_min}, {self.frames_max}")
        if self.noise_mm < 0:
            problems.append(f"noise_mm must be >= 0, got {self.noise_mm}")
        if not 0 <= self.hole_fraction < 0.5:
            problems.append(f"hole_fraction must be in [0, 0.5), got {self.hole_fraction}")
        if not 0 <= self.outlier_fraction < 0.2:
            problems.append(f"outlier_fraction must be in [0, 0.2), got {self.outlier_fraction}")
        if self.fragments < 0:
            problems.append(f"fragments must be >= 0, got {self.fragments}")
        if self.scan_points < 200:
            problems.append(f"scan_points must be >= 200, got {self.scan_points}")
        if self.units not in UNITS:
            problems.append(f"units must be one of {UNITS}, got {self.units!r}")
        if self.format not in FORMATS:
            problems.append(f"format must be one of {FORMATS}, got {self.format!r}")
        if not 128 <= self.image_size <= 2048:
            problems.append(f"image_size must be in [128, 2048] px, got {self.image_size}")
        if self.difficulty < 0:
            problems.append(f"difficulty must be >= 0, got {self.difficulty}")
        if problems:
            raise ValueError("invalid synth options: " + "; ".join(problems))

    def replace(self, **changes: Any) -> SynthOptions:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
