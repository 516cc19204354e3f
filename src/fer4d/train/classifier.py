"""Stage ``train_transformer``: train one fold's temporal transformer and predict its test set.

Training uses the fold's ``train`` sequences, the epoch with the best validation accuracy (ties:
lower validation loss) is kept, and the ``test`` sequences are predicted with it. ``ensemble``
members are trained alike from seeds ``seed, seed + 1, ...`` and their class probabilities
averaged (a seed ensemble: with a few dozen training sequences, one training run's outcome
depends visibly on its seed; averaging removes most of that variance). Augmentations
act on whole sequences: a random temporal crop followed by a random speed change (linear
resampling to a new length). The loss is class-balanced cross-entropy (weights inverse to the
training class frequencies). Features are standardised with the training set's mean and std.

With ``relative_to_first`` each frame's embedding is taken relative to the sequence's first
frame, ``e(t) - e(0)``: BU-4DFE-style sequences start neutral, so this removes the subject's
identity from the features and keeps the expression — what matters when test subjects are
never seen in training.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn

from fer4d import LABELS
from fer4d.atomic import write_json
from fer4d.errors import InputFileError
from fer4d.models.transformer import POOLINGS, ExpressionTransformer
from fer4d.options import SectionOptions
from fer4d.progress import progress
from fer4d.train.checkpoint import load_checkpoint, save_checkpoint
from fer4d.train.device import resolve_device, seed_everything

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class TransformerOptions(SectionOptions):
    """Options of the ``train_transformer`` stage (config section ``transformer``)."""

    SECTION = "transformer"

    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ff: int = 128
    dropout: float = 0.1
    pooling: str = "mean"
    relative_to_first: bool = True
    scale_per_channel: bool = False
    epochs: int = 100
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


@dataclass
class EmbeddedSequence:
    """One sequence of an embeddings file: ``embedding (T, d) float32``."""

    key: str
    subject: str
    label_index: int
    split: str
    embedding: np.ndarray


def read_embeddings(path: str | os.PathLike) -> tuple[int, list[EmbeddedSequence]]:
    """Read an ``embeddings.h5`` file → ``(fold, sequences)`` in key order."""
    try:
        with h5py.File(path, "r") as f:
            if "sequences" not in f:
                raise InputFileError(path, "no 'sequences' group: not an embeddings file")
            fold = int(f.attrs.get("fold", -1))
            sequences = []
            for key in sorted(f["sequences"]):
                group = f["sequences"][key]
                split = str(group.attrs["split"])
                if split not in SPLITS:
                    raise InputFileError(path, f"sequence {key!r} has unknown split {split!r}")
                embedding = np.asarray(group["embedding"], dtype=np.float32)
                if embedding.ndim != 2 or embedding.shape[0] < 1:
                    raise InputFileError(path, f"sequence {key!r}: embedding shape {embedding.shape}, expected (T, d)")
                sequences.append(
                    EmbeddedSequence(
                        key,
                        str(group.attrs["subject"]),
                        int(group.attrs["label_index"]),
                        split,
                        embedding,
                    )
                )
    except (OSError, KeyError) as err:
        raise InputFileError(path, f"cannot read embeddings: {err}") from err
    if not sequences:
        raise InputFileError(path, "contains no sequences")
    return fold, sequences


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


@torch.no_grad()
def predict_probabilities(
    models: list[ExpressionTransformer], features: list[np.ndarray], device: torch.device, batch_size: int = 32
) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` of standardised ``features`` (list of ``(T_i, d)``),
    averaged over the ensemble ``models``."""
    for model in models:
        model.eval()
    chunks = []
    for start in range(0, len(features), batch_size):
        x, mask = pad_batch(features[start : start + batch_size])
        x, mask = x.to(device), mask.to(device)
        members = [torch.softmax(model(x, mask).float(), dim=-1) for model in models]
        chunks.append(torch.stack(members).mean(0).cpu().numpy())
    return np.concatenate(chunks, axis=0) if chunks else np.zeros((0, models[0].head.out_features))


def _evaluate(models, features, labels, device, loss_fn) -> tuple[float, float]:
    """Mean loss and accuracy of the ensemble ``models`` on ``features`` with integer ``labels``."""
    probs = predict_probabilities(models, features, device)
    target = torch.tensor(labels)
    loss = float(loss_fn(torch.log(torch.from_numpy(probs).clamp_min(1e-12)), target))
    return loss, float((probs.argmax(1) == np.asarray(labels)).mean())


def save_classifier(
    path: str | os.PathLike,
    models: list[ExpressionTransformer],
    in_dim: int,
    options: TransformerOptions,
    scaler: FeatureScaler,
    extra: dict[str, Any],
) -> None:
    """Write a classifier checkpoint (the ensemble's members) atomically: plain tensors, numbers
    and strings only."""
    state = {
        "member_states": [{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models],
        "in_dim": in_dim,
        "options": options.to_dict(),
        "feature_mean": torch.from_numpy(scaler.mean),
        "feature_std": torch.from_numpy(scaler.std),
        "labels": list(LABELS),
        **extra,
    }
    save_checkpoint(path, state)


@dataclass
class LoadedClassifier:
    """A trained classifier ready for inference on raw (unstandardised) embeddings."""

    models: list[ExpressionTransformer]
    options: TransformerOptions
    scaler: FeatureScaler
    device: torch.device

    def features(self, embedding: np.ndarray) -> np.ndarray:
        """``embedding (T, d)`` → the standardised model input ``(T, d)``."""
        return self.scaler(frame_features(embedding, self.options.relative_to_first))

    def probabilities(self, embeddings: list[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(N, 6)`` of raw embeddings (list of ``(T_i, d)``)."""
        return predict_probabilities(self.models, [self.features(e) for e in embeddings], self.device)


def load_classifier(path: str | os.PathLike, device: str = "auto") -> LoadedClassifier:
    """Load a checkpoint written by :func:`save_classifier` (``weights_only=True``)."""
    state = load_checkpoint(path)
    try:
        options = TransformerOptions.from_dict(state["options"])
        models = []
        for member_state in state["member_states"]:
            models.append(
                ExpressionTransformer(int(state["in_dim"]), n_classes=len(state["labels"]), **options.model_kwargs())
            )
            models[-1].load_state_dict(member_state)
    except (KeyError, RuntimeError, ValueError) as err:
        raise InputFileError(path, f"not a usable transformer checkpoint: {err}") from err
    torch_device = resolve_device(device)
    scaler = FeatureScaler(state["feature_mean"].numpy(), state["feature_std"].numpy())
    return LoadedClassifier([m.to(torch_device).eval() for m in models], options, scaler, torch_device)


def train_member(
    features: dict[str, list[np.ndarray]],
    labels: dict[str, list[int]],
    selection_split: str,
    options: TransformerOptions,
    device: torch.device,
    seed: int,
    fold: int,
) -> tuple[ExpressionTransformer, dict[str, Any]]:
    """Train one transformer from ``seed`` on ``features["train"]`` (standardised, list of
    ``(T_i, d)``) and return it at its best epoch on ``selection_split``, with its history
    ``{"seed", "best_epoch", "epochs": [{epoch, train_loss, train_accuracy, val_loss, val_accuracy}]}``."""
    generator = seed_everything(seed)
    rng = np.random.default_rng(seed)
    in_dim = features["train"][0].shape[1]
    model = ExpressionTransformer(in_dim, n_classes=len(LABELS), **options.model_kwargs()).to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    weights = class_weights(labels["train"], len(LABELS)) if options.balance else None
    train_loss_fn = nn.CrossEntropyLoss(weight=weights.to(device) if weights is not None else None)
    eval_loss_fn = nn.NLLLoss()
    history, best, best_state = [], None, None
    n_train = len(features["train"])
    for epoch in progress(range(1, options.epochs + 1), f"fold {fold} seed {seed} transformer epochs", logger=log):
        model.train()
        order = torch.randperm(n_train, generator=generator).tolist()
        total_loss, correct = 0.0, 0
        for start in range(0, n_train, options.batch_size):
            chosen = order[start : start + options.batch_size]
            batch = [
                augment(features["train"][i], rng, options.crop_min, options.speed_min, options.speed_max)
                for i in chosen
            ]
            x, mask = pad_batch(batch)
            target = torch.tensor([labels["train"][i] for i in chosen], device=device)
            logits = model(x.to(device), mask.to(device))
            loss = train_loss_fn(logits, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total_loss += loss.item() * len(chosen)
            correct += int((logits.argmax(1) == target).sum())
        val_loss, val_accuracy = _evaluate(
            [model], features[selection_split], labels[selection_split], device, eval_loss_fn
        )
        history.append(
            {
                "epoch": epoch,
                "train_loss": total_loss / n_train,
                "train_accuracy": correct / n_train,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            }
        )
        if best is None or (val_accuracy, -val_loss) > (best["val_accuracy"], -best["val_loss"]):
            best = history[-1]
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, {"seed": seed, "best_epoch": best["epoch"], "epochs": history}


def train_transformer(
    embeddings_path: str | os.PathLike,
    checkpoint_path: str | os.PathLike,
    predictions_path: str | os.PathLike,
    history_path: str | os.PathLike,
    options: TransformerOptions,
    device: str = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """Train the fold's transformer ensemble (each member at its best validation epoch) and
    predict the test sequences with it.

    Writes the checkpoint (``torch.save`` dict, load with :func:`load_classifier`), the
    predictions JSON (``{"fold", "labels", "items": [{"key", "subject", "true", "pred",
    "probs"}]}``) and the history JSON (``{"fold", "selection_split", "members": [{"seed",
    "best_epoch", "epochs": [{"epoch", "train_loss", "train_accuracy", "val_loss",
    "val_accuracy"}]}]}``). Returns a summary dict ``{fold, best_epochs, val_accuracy,
    test_accuracy, n_train, n_val, n_test, seconds}`` (accuracies of the ensemble).
    """
    started = time.monotonic()
    torch_device = resolve_device(device)
    fold, sequences = read_embeddings(embeddings_path)
    by_split = {split: [s for s in sequences if s.split == split] for split in SPLITS}
    if not by_split["train"]:
        raise InputFileError(embeddings_path, "no sequences with split 'train'")
    # With no validation subjects, select on the training set itself.
    selection_split = "val" if by_split["val"] else "train"
    raw = {
        split: [frame_features(s.embedding, options.relative_to_first) for s in seqs]
        for split, seqs in by_split.items()
    }
    scaler = FeatureScaler.fit(raw["train"], options.scale_per_channel)
    features = {split: [scaler(f) for f in feats] for split, feats in raw.items()}
    labels = {split: [s.label_index for s in seqs] for split, seqs in by_split.items()}
    in_dim = features["train"][0].shape[1]
    log.info(
        "fold %s: %d train, %d val, %d test sequences, %d features, %d members, device %s",
        fold,
        *(len(by_split[s]) for s in SPLITS),
        in_dim,
        options.ensemble,
        torch_device,
    )
    members = [
        train_member(features, labels, selection_split, options, torch_device, seed + i, fold)
        for i in range(options.ensemble)
    ]
    models = [model for model, _ in members]
    histories = [history for _, history in members]
    save_classifier(
        checkpoint_path,
        models,
        in_dim,
        options,
        scaler,
        {"fold": fold, "best_epochs": [h["best_epoch"] for h in histories], "seed": seed},
    )
    items = []
    if by_split["test"]:
        probs = predict_probabilities(models, features["test"], torch_device)
        items = [
            {
                "key": s.key,
                "subject": s.subject,
                "true": LABELS[s.label_index],
                "pred": LABELS[int(p.argmax())],
                "probs": [round(float(v), 6) for v in p],
            }
            for s, p in zip(by_split["test"], probs)
        ]
    write_json(predictions_path, {"fold": fold, "labels": list(LABELS), "items": items})
    write_json(history_path, {"fold": fold, "selection_split": selection_split, "members": histories})
    _, val_accuracy = _evaluate(models, features[selection_split], labels[selection_split], torch_device, nn.NLLLoss())
    test_accuracy = float(np.mean([i["true"] == i["pred"] for i in items])) if items else float("nan")
    summary = {
        "fold": fold,
        "best_epochs": [h["best_epoch"] for h in histories],
        "val_accuracy": val_accuracy,
        "test_accuracy": test_accuracy,
        "n_train": len(features["train"]),
        "n_val": len(by_split["val"]),
        "n_test": len(by_split["test"]),
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("fold %s done: %s", fold, summary)
    return summary
