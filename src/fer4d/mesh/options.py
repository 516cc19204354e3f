"""Options of the ``hierarchy`` stage (config section ``hierarchy``)."""

from __future__ import annotations

from dataclasses import dataclass

from fer4d.options import SectionOptions


@dataclass(frozen=True)
class HierarchyOptions(SectionOptions):
    """``factors``: vertex-count reduction of each quadric-decimation level (4 = keep a quarter);
    ``spiral_length``: vertices per spiral, the centre included; ``dilation``: keep every
    ``dilation``-th vertex of a longer spiral (Gong et al. 2019)."""

    SECTION = "hierarchy"

    factors: tuple[int, ...] = (4, 4, 4)
    spiral_length: int = 9
    dilation: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "factors", tuple(int(f) for f in self.factors))
        if not self.factors or min(self.factors) < 2:
            raise ValueError(f"hierarchy.factors must be integers >= 2, got {self.factors}")
        if self.spiral_length < 2 or self.dilation < 1:
            raise ValueError("hierarchy: spiral_length must be >= 2 and dilation >= 1")
