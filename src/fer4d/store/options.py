"""Options of the ``store`` stage: quality policy and compression (section ``store``), folds (section ``folds``)."""

from __future__ import annotations

from dataclasses import dataclass

from fer4d.options import SectionOptions

QUALITY_POLICIES = ("keep_all", "drop_flagged_frames", "drop_flagged_sequences")
FOLD_SCHEMES = ("kfold", "loso")


@dataclass(frozen=True)
class StoreOptions(SectionOptions):
    """``quality_policy``: keep every frame, drop frames whose fit was flagged, or drop whole
    sequences in which more than ``max_flagged_fraction`` of the frames were flagged.
    ``min_frames``: sequences shorter than this after dropping are dropped.
    ``compression``: HDF5 filter for the vertices (``gzip`` with ``compression_level``, ``lzf``
    or ``none``); the shuffle filter is always on."""

    SECTION = "store"

    quality_policy: str = "drop_flagged_sequences"
    max_flagged_fraction: float = 0.5
    min_frames: int = 2
    compression: str = "gzip"
    compression_level: int = 4

    def __post_init__(self) -> None:
        if self.quality_policy not in QUALITY_POLICIES:
            raise ValueError(f"store.quality_policy must be one of {QUALITY_POLICIES}, got {self.quality_policy!r}")
        if not 0.0 <= self.max_flagged_fraction <= 1.0:
            raise ValueError(f"store.max_flagged_fraction must be in [0, 1], got {self.max_flagged_fraction}")
        if self.compression not in ("gzip", "lzf", "none"):
            raise ValueError(f"store.compression must be gzip, lzf or none, got {self.compression!r}")


@dataclass(frozen=True)
class FoldOptions(SectionOptions):
    """Subject-independent cross-validation: ``kfold`` with ``k`` folds (stratified by label), or
    ``loso`` (leave one subject out: one fold per subject). ``val_fraction`` of each fold's
    training subjects (at least one) are held out for validation / model selection.
    ``repeats``: repeated k-fold cross-validation, each repeat a new split of the subjects
    (seeds ``seed``, then ``(seed, r)``); folds are numbered repeat by repeat (repeat ``r`` holds
    folds ``r * k ... r * k + k - 1``) and the report gives the mean ± std and a 95 % interval of
    the repeats' accuracies."""

    SECTION = "folds"

    scheme: str = "kfold"
    k: int = 4
    val_fraction: float = 0.2
    repeats: int = 1

    def __post_init__(self) -> None:
        if self.scheme not in FOLD_SCHEMES:
            raise ValueError(f"folds.scheme must be one of {FOLD_SCHEMES}, got {self.scheme!r}")
        if self.k < 2:
            raise ValueError(f"folds.k must be >= 2, got {self.k}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"folds.val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.repeats < 1 or (self.repeats > 1 and self.scheme == "loso"):
            raise ValueError(
                f"folds.repeats must be >= 1, and 1 under loso (it has one split), got {self.repeats} ({self.scheme})"
            )
