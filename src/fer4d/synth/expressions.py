"""Who does what: subject identity and style, and the per-sequence plan of one expression.

Each subject has an identity (FLAME shape coefficients) and a persistent personal version of
each emotion: the prototype mixture of anatomical expression components is perturbed, blended
a little towards its confusable partner (fear/surprise share raised brows and an open mouth,
anger/disgust lowered brows, sadness is weak and drifts towards anger), and scaled by the
subject's expressiveness. Each sequence then draws its own timing, apex intensity, asymmetry,
blinks, head motion and jaw motion. ``difficulty`` scales every source of variation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer4d import LABELS
from fer4d.synth.dynamics import Timing, blink_track, intensity_envelope, smooth_wander
from fer4d.synth.emotions import EmotionPrototype

CONFUSABLE_PARTNER = {
    "anger": "disgust",
    "disgust": "anger",
    "fear": "surprise",
    "surprise": "fear",
    "sadness": "anger",
    "happiness": "disgust",
}
"""The emotion each one is blended towards in a subject's personal style."""

PARTNER_BLEND = {"anger": 0.25, "disgust": 0.25, "fear": 0.3, "surprise": 0.2, "sadness": 0.2, "happiness": 0.08}
"""Mean blend weight towards the partner at difficulty 1."""

ONSET_RANGE = {
    "anger": (0.18, 0.28),
    "disgust": (0.14, 0.24),
    "fear": (0.10, 0.18),
    "happiness": (0.18, 0.28),
    "sadness": (0.28, 0.40),
    "surprise": (0.05, 0.10),
}
"""Onset duration (fraction of the sequence): surprise is abrupt, sadness slow."""

APEX_RANGE = {
    "anger": (0.25, 0.40),
    "disgust": (0.20, 0.32),
    "fear": (0.30, 0.42),
    "happiness": (0.25, 0.40),
    "sadness": (0.30, 0.42),
    "surprise": (0.12, 0.22),
}
"""Apex plateau duration (fraction of the sequence): surprise is brief, fear and sadness held."""

INTENSITY = {"anger": 1.0, "disgust": 1.0, "fear": 0.95, "happiness": 1.0, "sadness": 0.7, "surprise": 1.0}
"""Typical apex intensity of each emotion relative to its prototype: sadness is subtle."""


@dataclass(frozen=True)
class SubjectStyle:
    """One subject: identity ``shape (n_shape,)``, expressiveness, and personal prototypes."""

    shape: np.ndarray
    expressiveness: float
    emotions: dict[str, EmotionPrototype]


@dataclass(frozen=True)
class SequencePlan:
    """Everything random about one sequence except the scanner.

    ``expression (T, n_expr)``; ``jaw (T,)`` rad (opening about x); ``head_rotation (T, 3)``
    axis-angle rad; ``head_translation (T, 3)`` mm; ``gaze (T, 3)`` eye axis-angle rad;
    ``timing``, ``intensity`` (apex), ``asymmetry`` (left gain − 1 = 1 − right gain).
    """

    expression: np.ndarray
    jaw: np.ndarray
    head_rotation: np.ndarray
    head_translation: np.ndarray
    gaze: np.ndarray
    timing: Timing
    intensity: float
    asymmetry: float


def make_subject_style(
    prototypes: dict[str, EmotionPrototype], n_shape: int, difficulty: float, rng: np.random.Generator
) -> SubjectStyle:
    """Draw a subject: identity from the shape space (unit variance per coefficient, as FLAME's
    shape space is PCA-whitened) and a personal version of each emotion."""
    shape = rng.normal(size=n_shape)
    expressiveness = float(np.exp(rng.normal(scale=0.12 * difficulty)))
    emotions = {}
    for label in LABELS:
        own, partner = prototypes[label], prototypes[CONFUSABLE_PARTNER[label]]
        blend = float(np.clip(rng.normal(PARTNER_BLEND[label], 0.08), 0.0, 0.45)) * min(difficulty, 1.5)
        mixed = (1.0 - blend) * own.expression + blend * partner.expression
        scale = np.abs(mixed).max() if np.any(mixed) else 1.0
        gains = np.exp(rng.normal(scale=0.25 * difficulty, size=mixed.shape))
        extra = rng.normal(scale=0.08 * difficulty * scale, size=mixed.shape)
        jaw = ((1.0 - blend) * own.jaw + blend * partner.jaw) * float(np.exp(rng.normal(scale=0.2 * difficulty)))
        emotions[label] = EmotionPrototype(expression=mixed * gains + extra, jaw=jaw)
    return SubjectStyle(shape=shape, expressiveness=expressiveness, emotions=emotions)


def draw_timing(label: str, difficulty: float, rng: np.random.Generator) -> Timing:
    """Phase durations of one sequence of ``label`` (emotion-typical, jittered)."""
    onset = rng.uniform(*ONSET_RANGE[label])
    apex = rng.uniform(*APEX_RANGE[label])
    start = rng.uniform(0.06, 0.16)
    offset = rng.uniform(0.15, 0.28)
    total = start + onset + apex + offset
    if total > 0.95:
        start, onset, apex, offset = (x * 0.95 / total for x in (start, onset, apex, offset))
    residual = rng.uniform(0.0, 0.12 * max(difficulty, 0.25))
    return Timing(start=start, onset=onset, apex=apex, offset=offset, residual=residual)


@dataclass(frozen=True)
class ComponentSides:
    """Which expression coefficients act on one side of the face, and what a blink is.

    ``left``, ``right``: ``(n_expr,) bool``; ``blink``: ``(n_expr,)`` coefficients that close
    both eyelids.
    """

    left: np.ndarray
    right: np.ndarray
    blink: np.ndarray


def draw_sequence_plan(
    style: SubjectStyle,
    label: str,
    n_frames: int,
    sides: ComponentSides,
    difficulty: float,
    rng: np.random.Generator,
) -> SequencePlan:
    """The time courses of one sequence of ``label`` performed by ``style``'s subject."""
    prototype = style.emotions[label]
    timing = draw_timing(label, difficulty, rng)
    intensity = INTENSITY[label] * style.expressiveness * float(np.clip(rng.normal(1.0, 0.15 * difficulty), 0.5, 1.5))
    asymmetry = float(np.clip(rng.normal(scale=0.12 * difficulty), -0.4, 0.4))
    side_gain = np.ones_like(prototype.expression)
    side_gain[sides.left] += asymmetry
    side_gain[sides.right] -= asymmetry
    envelope = intensity_envelope(n_frames, timing) * intensity

    # Small expression tremor, so no two frames of a plateau are identical.
    tremor = smooth_wander(n_frames, np.full(prototype.expression.shape, 0.03 * difficulty), rng)
    blinks = blink_track(n_frames, rate_per_frame=0.03, rng=rng)
    expression = envelope[:, None] * (prototype.expression * side_gain)[None] + tremor
    expression += blinks[:, None] * sides.blink[None]

    jaw_wobble = smooth_wander(n_frames, np.array([0.015 * difficulty]), rng)[:, 0]
    jaw = np.clip(envelope * prototype.jaw + jaw_wobble, 0.0, None)
    head_rotation = smooth_wander(n_frames, np.radians([3.0, 4.0, 2.0]) * difficulty, rng)
    head_translation = smooth_wander(n_frames, np.array([3.0, 3.0, 4.0]) * difficulty, rng)
    gaze = smooth_wander(n_frames, np.radians([4.0, 6.0, 0.0]), rng)
    return SequencePlan(
        expression=expression,
        jaw=jaw,
        head_rotation=head_rotation,
        head_translation=head_translation,
        gaze=gaze,
        timing=timing,
        intensity=intensity,
        asymmetry=asymmetry,
    )
