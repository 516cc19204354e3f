"""The classifier's data: per-frame features of an embedding, their standardisation, sequence
augmentation, batching and class weights."""

from __future__ import annotations

import math

import numpy as np
import torch


def frame_features(embedding: np.ndarray, relative_to_first: bool) -> np.ndarray:
    """``embedding (T, d)`` → features ``(T, d)``: unchanged, or ``e(t) - e(0)``."""
    return embedding - embedding[:1] if relative_to_first else embedding


class FeatureScaler:
    """Standardisation with statistics of the training frames only.

    ``per_channel``: each channel to unit variance; otherwise one scale for all channels,
    which keeps the relative size of the channels (low-variance embedding channels are often
    mostly noise and should stay small).
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)  # (d,)
        self.std = np.asarray(std, dtype=np.float32)  # (d,)

    @classmethod
    def fit(cls, features: list[np.ndarray], per_channel: bool) -> FeatureScaler:
        frames = np.concatenate(features, axis=0)  # (N_frames, d)
        centred = frames - frames.mean(0)
        std = centred.std(0) if per_channel else np.full(frames.shape[1], np.sqrt((centred**2).mean()))
        return cls(frames.mean(0), std + 1e-6)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.std


def augment(
    features: np.ndarray, rng: np.random.Generator, crop_min: float, speed_min: float, speed_max: float
) -> np.ndarray:
    """Random temporal crop then random speed change of ``features (T, d)`` → ``(T', d)``.

    The crop keeps a contiguous ``[crop_min, 1]`` fraction of the frames; the speed change
    resamples the crop linearly to ``len / speed`` frames, speed uniform in
    ``[speed_min, speed_max]`` on a log scale.
    """
    length = features.shape[0]
    keep = max(1, int(round(length * rng.uniform(crop_min, 1.0))))
    start = int(rng.integers(0, length - keep + 1))
    crop = features[start : start + keep]
    speed = math.exp(rng.uniform(math.log(speed_min), math.log(speed_max)))
    return resample(crop, max(1, int(round(keep / speed))))


def resample(features: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample ``features (T, d)`` to ``(length, d)`` over the same time span."""
    if features.shape[0] == 1 or length == features.shape[0]:
        return np.repeat(features[:1], length, 0) if features.shape[0] == 1 else features
    source = np.linspace(0.0, features.shape[0] - 1, length)
    lower = np.floor(source).astype(int)
    upper = np.minimum(lower + 1, features.shape[0] - 1)
    weight = (source - lower)[:, None].astype(np.float32)
    return (1 - weight) * features[lower] + weight * features[upper]


def pad_batch(sequences: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """List of ``(T_i, d)`` arrays → ``x (B, T_max, d) float32`` zero-padded, ``mask (B, T_max) bool``."""
    longest = max(s.shape[0] for s in sequences)
    x = np.zeros((len(sequences), longest, sequences[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(sequences), longest), dtype=bool)
    for i, s in enumerate(sequences):
        x[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


def class_weights(label_indices: list[int], n_classes: int) -> torch.Tensor:
    """Inverse-frequency class weights ``(n_classes,)`` normalised to mean 1 over present classes."""
    counts = np.bincount(label_indices, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max((counts > 0).sum(), 1), 0.0)
    return torch.tensor(weights, dtype=torch.float32)
