"""The six basic emotions as mixtures of the synthetic model's expression components.

Prototypes follow the action-unit patterns of EMFACS (Friesen & Ekman 1983) as summarised e.g.
by Matsumoto & Ekman: happiness AU6+12; surprise AU1+2+5+26; fear AU1+2+4+5+20+26;
anger AU4+5/7+24; disgust AU9+10(+4); sadness AU1+15(+4, 17). Fear resembles surprise and
disgust resembles anger on purpose, and sadness is subtle, as in real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer4d import LABELS
from fer4d.synth.facemodel.expressions import EXPRESSION_COMPONENTS


@dataclass(frozen=True)
class EmotionPrototype:
    """expression: (len(EXPRESSION_COMPONENTS),) coefficients at the apex.
    jaw: jaw opening at the apex, radians (rotation about +x; positive opens the mouth)."""

    expression: np.ndarray
    jaw: float


_MIXTURES: dict[str, tuple[dict[str, float], float]] = {
    "anger": (
        {
            "brow_lower": 1.3,
            "lid_tighten_left": 0.7,
            "lid_tighten_right": 0.7,
            "upper_lid_raise": 0.3,
            "lip_press": 1.0,
            "chin_raise": 0.5,
        },
        0.0,
    ),
    "disgust": (
        {
            "nose_wrinkle": 1.2,
            "upper_lip_raise": 1.1,
            "brow_lower": 0.6,
            "lid_tighten_left": 0.5,
            "lid_tighten_right": 0.5,
            "chin_raise": 0.4,
            "lip_corner_depress": 0.3,
        },
        0.03,
    ),
    "fear": (
        {
            "brow_raise_left": 0.7,
            "brow_raise_right": 0.7,
            "inner_brow_raise": 1.0,
            "brow_lower": 0.5,
            "upper_lid_raise": 1.0,
            "lip_stretch": 1.1,
            "mouth_open": 0.5,
        },
        0.11,
    ),
    "happiness": (
        {
            "cheek_raise": 1.0,
            "lip_corner_pull_left": 1.1,
            "lip_corner_pull_right": 1.1,
            "lid_tighten_left": 0.3,
            "lid_tighten_right": 0.3,
            "mouth_open": 0.3,
        },
        0.04,
    ),
    "sadness": (
        {
            "inner_brow_raise": 0.8,
            "brow_lower": 0.25,
            "lip_corner_depress": 0.9,
            "chin_raise": 0.4,
            "lid_tighten_left": 0.2,
            "lid_tighten_right": 0.2,
        },
        0.0,
    ),
    "surprise": (
        {
            "brow_raise_left": 1.0,
            "brow_raise_right": 1.0,
            "inner_brow_raise": 0.8,
            "upper_lid_raise": 1.0,
            "mouth_open": 0.7,
        },
        0.14,
    ),
}


def emotion_prototypes() -> dict[str, EmotionPrototype]:
    """Apex expression coefficients and jaw opening for each label in ``fer4d.LABELS``."""
    prototypes = {}
    for label in LABELS:
        mixture, jaw = _MIXTURES[label]
        expression = np.zeros(len(EXPRESSION_COMPONENTS))
        for name, weight in mixture.items():
            expression[EXPRESSION_COMPONENTS.index(name)] = weight
        prototypes[label] = EmotionPrototype(expression=expression, jaw=jaw)
    return prototypes
