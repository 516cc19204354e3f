"""Options of the classifier stages: ``transformer``, ``baselines`` and ``evaluation`` (windows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fer4d.models.transformer import POOLINGS
from fer4d.options import SectionOptions


@dataclass(frozen=True)
class TransformerOptions(SectionOptions):
    """Options of the ``train_transformer`` stage (config section ``transformer``).

    ``train_on_validation``: the fold's validation subjects are trained on too, and every member
    is kept after its ``epochs`` epochs (no epoch is chosen); otherwise each member is kept at
    its best epoch on the validation subjects."""

    SECTION = "transformer"

    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ff: int = 128
    dropout: float = 0.1
    pooling: str = "mean"
    relative_to_first: bool = True
    scale_per_channel: bool = False
    epochs: int = 70
    train_on_validation: bool = True
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-2
    crop_min: float = 0.7
    speed_min: float = 0.8
    speed_max: float = 1.25
    balance: bool = True
    ensemble: int = 5

    def __post_init__(self) -> None:
        problems = []
        if self.pooling not in POOLINGS:
            problems.append(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if min(self.d_model, self.heads, self.layers, self.ff, self.epochs, self.batch_size, self.ensemble) < 1:
            problems.append("d_model, heads, layers, ff, epochs, batch_size and ensemble must be >= 1")
        if self.d_model % self.heads:
            problems.append(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        if not 0 <= self.dropout < 1:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 < self.crop_min <= 1:
            problems.append(f"crop_min must be in (0, 1], got {self.crop_min}")
        if not 0 < self.speed_min <= self.speed_max:
            problems.append(f"need 0 < speed_min <= speed_max, got {self.speed_min}, {self.speed_max}")
        if self.lr <= 0 or self.weight_decay < 0:
            problems.append("lr must be > 0 and weight_decay >= 0")
        if problems:
            raise ValueError("invalid transformer options: " + "; ".join(problems))

    def model_kwargs(self) -> dict[str, Any]:
        """The ``ExpressionTransformer`` keyword arguments these options describe."""
        return dict(
            d_model=self.d_model,
            heads=self.heads,
            layers=self.layers,
            ff=self.ff,
            dropout=self.dropout,
            pooling=self.pooling,
        )


BASELINE_KINDS = ("apex_linear", "mean_linear", "gru", "flame_transformer")
"""The baselines of the temporal transformer (``fer4d.train.classifier.baselines``)."""


@dataclass(frozen=True)
class BaselineOptions(SectionOptions):
    """Options of the ``train_baseline`` stage (config section ``baselines``): which baselines
    run beside the transformer on the same folds and embeddings, and their own settings. The
    GRU trains with the transformer's recipe (epochs, optimiser, augmentation, ensemble)."""

    SECTION = "baselines"

    kinds: tuple[str, ...] = BASELINE_KINDS
    linear_l2: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    gru_hidden: int = 64
    gru_layers: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "linear_l2", tuple(float(v) for v in self.linear_l2))
        problems = []
        unknown = [kind for kind in self.kinds if kind not in BASELINE_KINDS]
        if unknown or len(set(self.kinds)) != len(self.kinds):
            problems.append(f"kinds must be distinct names from {BASELINE_KINDS}, got {list(self.kinds)}")
        if not self.linear_l2 or min(self.linear_l2) < 0:
            problems.append(f"linear_l2 must be a non-empty list of values >= 0, got {list(self.linear_l2)}")
        if min(self.gru_hidden, self.gru_layers) < 1:
            problems.append("gru_hidden and gru_layers must be >= 1")
        if problems:
            raise ValueError("invalid baselines options: " + "; ".join(problems))


@dataclass(frozen=True)
class EvaluationOptions(SectionOptions):
    """What one classifier sample is (config section ``evaluation``): whole sequences
    (``window`` 0, the default) or sliding windows of ``window`` frames every ``stride`` frames
    (0: half a window), the protocol of Ben Amor et al. 2014 (6-frame windows). With windows
    every classifier trains, selects its epoch and predicts on windows; a test sequence's
    probabilities are the mean of its windows' and the report scores both levels."""

    SECTION = "evaluation"

    window: int = 0
    stride: int = 0

    def __post_init__(self) -> None:
        if self.window < 0 or self.stride < 0 or (self.stride and not self.window):
            raise ValueError(
                f"invalid evaluation options: window and stride must be >= 0, stride only with a window "
                f"(got window {self.window}, stride {self.stride})"
            )

    @property
    def step(self) -> int:
        """Frames between window starts."""
        return self.stride or max(1, self.window // 2)
