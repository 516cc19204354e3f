"""Time courses of a posed expression: intensity envelope, blinks, head motion.

An expression sequence of BU-4DFE runs neutral → onset → apex → offset → (near) neutral
(Yin et al., "A High-Resolution 3D Dynamic Facial Expression Database", FG 2008). The
envelope here is a piecewise smooth-step curve with those phases; timing is given as fractions
of the sequence length so one description fits any frame count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Phases of one sequence as fractions of its length (they sum to at most 1).

    ``start``: neutral lead-in; ``onset``, ``apex`` (plateau), ``offset``: phase durations;
    ``residual``: intensity left at the end, as a fraction of the apex intensity.
    """

    start: float
    onset: float
    apex: float
    offset: float
    residual: float


def smooth_step(x: np.ndarray) -> np.ndarray:
    """0 for x <= 0, 1 for x >= 1, and the cosine ease ``(1 - cos(pi x)) / 2`` between."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def intensity_envelope(n_frames: int, timing: Timing) -> np.ndarray:
    """``(n_frames,)`` expression intensity in [0, 1]: 0 at the start, 1 on the apex plateau."""
    t = np.linspace(0.0, 1.0, n_frames)
    rise = smooth_step((t - timing.start) / max(timing.onset, 1e-6))
    fall_start = timing.start + timing.onset + timing.apex
    fall = smooth_step((t - fall_start) / max(timing.offset, 1e-6))
    return rise * (1.0 - (1.0 - timing.residual) * fall)


def apex_frame(n_frames: int, timing: Timing) -> int:
    """Index of the middle of the apex plateau."""
    middle = timing.start + timing.onset + 0.5 * timing.apex
    return int(round(middle * (n_frames - 1)))


def blink_track(n_frames: int, rate_per_frame: float, rng: np.random.Generator) -> np.ndarray:
    """``(n_frames,)`` eyelid closure in [0, 1]: a few brief closures (~3 frames) at random times."""
    track = np.zeros(n_frames)
    frames = np.arange(n_frames)
    for centre in rng.uniform(0, n_frames - 1, size=rng.poisson(rate_per_frame * n_frames)):
        track = np.maximum(track, np.exp(-0.5 * ((frames - centre) / 0.9) ** 2))
    return track


def smooth_wander(n_frames: int, amplitude: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(n_frames, D)`` slow random drift, one channel per entry of ``amplitude (D,)``.

    Each channel is a sum of three sinusoids of random phase with periods of 0.5–3 sequence
    lengths, normalised so its peak magnitude is about ``amplitude``.
    """
    amplitude = np.asarray(amplitude, dtype=np.float64)
    t = np.linspace(0.0, 1.0, n_frames)[:, None, None]
    periods = rng.uniform(0.5, 3.0, size=(1, amplitude.size, 3))
    phases = rng.uniform(0, 2 * np.pi, size=(1, amplitude.size, 3))
    weights = rng.normal(size=(1, amplitude.size, 3))
    wave = (weights * np.sin(2 * np.pi * t / periods + phases)).sum(axis=2)
    return wave / np.maximum(np.abs(weights).sum(axis=2), 1e-9) * amplitude
