"""The classifier's data: a fold's features read from its embeddings file, per-frame features of
an embedding, their standardisation, sliding windows, sequence augmentation, batching and class
weights."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from fer4d.errors import InputFileError
from fer4d.formats.embeddings import EmbeddedSequence, EmbeddingsFile, read_embeddings
from fer4d.formats.predictions import Prediction
from fer4d.formats.store import SPLITS


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


@dataclass
class FoldFeatures:
    """One fold's classifier inputs, by split (``train``, ``val``, ``test``).

    ``features``: standardised ``(T_i, d)`` per sequence, in the order of ``sequences``;
    ``labels``: class indices into ``label_names``; ``selection_split``: where epochs and settings are chosen
    (``val``, or ``train`` when the fold has no validation subjects; None when the validation
    subjects were merged into training: nothing is chosen).
    """

    fold: int
    label_names: list[str]
    sequences: dict[str, list[EmbeddedSequence]]
    features: dict[str, list[np.ndarray]]
    labels: dict[str, list[int]]
    selection_split: str | None
    scaler: FeatureScaler

    @property
    def in_dim(self) -> int:
        return self.features["train"][0].shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def test_predictions(
        self,
        probs: np.ndarray,
        over_time: list[np.ndarray] | None = None,
        window_probs: list[np.ndarray] | None = None,
    ) -> list[Prediction]:
        """The test sequences' predictions from their class probabilities ``(N_test, n_classes)``
        and, optionally, each one's causal probabilities over time ``(T_i, n_classes)`` and its
        windows' probabilities ``(W_i, n_classes)``."""
        names = self.label_names
        none = [np.zeros((0, len(names)))] * len(probs)
        return [
            Prediction(
                s.key,
                s.subject,
                names[s.label_index],
                names[int(p.argmax())],
                [float(v) for v in p],
                curve.tolist(),
                windows.tolist(),
            )
            for s, p, curve, windows in zip(self.sequences["test"], probs, over_time or none, window_probs or none)
        ]


def read_fold_features(
    embeddings_path: str | os.PathLike,
    relative_to_first: bool,
    scale_per_channel: bool,
    train_on_validation: bool = False,
) -> FoldFeatures:
    """A fold's embeddings file → its :class:`FoldFeatures`, standardised with the training
    frames' statistics (:class:`FeatureScaler`)."""
    embeddings = read_embeddings(embeddings_path)
    return fold_features(embeddings, relative_to_first, scale_per_channel, embeddings_path, train_on_validation)


def fold_features(
    embeddings: EmbeddingsFile,
    relative_to_first: bool,
    scale_per_channel: bool,
    source: str | os.PathLike,
    train_on_validation: bool = False,
) -> FoldFeatures:
    """Per-frame features ``(T, d)`` of a fold's sequences (auto-encoder embeddings, or any other
    per-frame vectors in the same container) → :class:`FoldFeatures`, standardised with the
    training frames' statistics; ``source`` names the file in errors. ``train_on_validation``
    moves the validation sequences into ``train`` and sets ``selection_split`` to None."""
    sequences = embeddings.sequences
    if train_on_validation:
        sequences = [dataclasses.replace(s, split="train") if s.split == "val" else s for s in sequences]
    by_split = {split: [s for s in sequences if s.split == split] for split in SPLITS}
    if not by_split["train"]:
        raise InputFileError(source, "no sequences with split 'train'")
    raw = {split: [frame_features(s.embedding, relative_to_first) for s in seqs] for split, seqs in by_split.items()}
    scaler = FeatureScaler.fit(raw["train"], scale_per_channel)
    return FoldFeatures(
        fold=embeddings.fold,
        label_names=embeddings.labels,
        sequences=by_split,
        features={split: [scaler(f) for f in feats] for split, feats in raw.items()},
        labels={split: [s.label_index for s in seqs] for split, seqs in by_split.items()},
        selection_split=None if train_on_validation else "val" if by_split["val"] else "train",
        scaler=scaler,
    )


def window_spans(length: int, window: int, step: int) -> list[tuple[int, int]]:
    """``[start, end)`` frame spans of ``window`` frames every ``step`` frames over a sequence of
    ``length``, the last one ending at its last frame so every frame is covered; a sequence no
    longer than ``window`` (or ``window`` 0) is one span of itself."""
    if window <= 0 or length <= window:
        return [(0, length)]
    starts = list(range(0, length - window + 1, step))
    if starts[-1] != length - window:
        starts.append(length - window)
    return [(start, start + window) for start in starts]


@dataclass
class WindowedFold:
    """A fold's sliding windows as classifier samples: ``data`` holds one sample per window (its
    ``sequences`` entry: the window's slice of the embedding, key ``{key}@{start}``, labelled as
    its sequence; its features: the same slice), ``owners[split][j]`` the index of window
    ``j``'s sequence among the original fold's ``n_sequences[split]``."""

    data: FoldFeatures
    owners: dict[str, list[int]]
    n_sequences: dict[str, int]

    @classmethod
    def of(cls, fold: FoldFeatures, window: int, step: int) -> WindowedFold:
        sequences, features, labels, owners = {}, {}, {}, {}
        for split, originals in fold.sequences.items():
            sequences[split], features[split], labels[split], owners[split] = [], [], [], []
            for index, (seq, feats) in enumerate(zip(originals, fold.features[split])):
                for start, end in window_spans(len(feats), window, step):
                    sequences[split].append(
                        dataclasses.replace(seq, key=f"{seq.key}@{start}", embedding=seq.embedding[start:end])
                    )
                    features[split].append(feats[start:end])
                    labels[split].append(fold.labels[split][index])
                    owners[split].append(index)
        windows = FoldFeatures(
            fold.fold, fold.label_names, sequences, features, labels, fold.selection_split, fold.scaler
        )
        return cls(windows, owners, {split: len(originals) for split, originals in fold.sequences.items()})

    def per_sequence(self, window_probs: np.ndarray, split: str = "test") -> list[np.ndarray]:
        """Window probabilities ``(W, C)`` of ``split`` → each sequence's ``(W_i, C)``, in order."""
        owners = np.asarray(self.owners[split])
        return [window_probs[owners == index] for index in range(self.n_sequences[split])]

    def sequence_probabilities(self, window_probs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Test window probabilities ``(W, C)`` → each test sequence's mean ``(N_test, C)`` and its
        windows' ``[(W_i, C)]``."""
        per_sequence = self.per_sequence(window_probs)
        means = np.stack([w.mean(0) for w in per_sequence]) if per_sequence else np.zeros((0, window_probs.shape[1]))
        return means, per_sequence


def samples_of(fold: FoldFeatures, window: int, step: int) -> tuple[FoldFeatures, WindowedFold | None]:
    """The classifier's samples: the fold itself (``window`` 0) or its sliding windows."""
    if window <= 0:
        return fold, None
    windows = WindowedFold.of(fold, window, step)
    return windows.data, windows
