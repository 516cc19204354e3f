"""Options of the ``landmarks`` stage (config section ``landmarks``)."""

from __future__ import annotations

from dataclasses import dataclass

from fer4d.options import SectionOptions


@dataclass(frozen=True)
class LandmarkOptions(SectionOptions):
    """``iris``: MediaPipe's iris refinement (478 points instead of 468). ``tracking``: video
    mode, the mesh tracked from frame to frame (a frame where tracking finds no face is detected
    afresh); off, every frame is detected on its own. ``min_detection_confidence`` /
    ``min_tracking_confidence``: MediaPipe's thresholds, in [0, 1]. ``min_frames``: a sequence
    with fewer frames with a face is empty (quarantined)."""

    SECTION = "landmarks"

    iris: bool = True
    tracking: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    min_frames: int = 2

    def __post_init__(self) -> None:
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"landmarks.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.min_frames < 1:
            raise ValueError(f"landmarks.min_frames must be >= 1, got {self.min_frames}")
