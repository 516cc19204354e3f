"""Stage ``train_baseline``: the transformer's baselines on the same fold, features and test set.

They answer what the spatial and the temporal halves of the method each contribute:

- ``apex_linear``: no temporal model. One frame per sequence, its apex (the frame whose
  embedding is farthest from the first frame's, where the expression peaks in a sequence that
  starts neutral), and a linear classifier.
- ``mean_linear``: the frames' features averaged over the sequence, and a linear classifier
  (order-free pooling).
- ``gru``: a bidirectional GRU (``fer4d.models.recurrent``) trained with the transformer's
  recipe: same augmentations, epochs, validation subjects (trained on, or choosing the epoch),
  seed ensemble.
- ``flame_transformer``: the transformer itself, on the registration's FLAME expression and jaw
  parameters (``fer4d.train.classifier.parameters``) instead of the auto-encoder's embeddings:
  what the learned mesh representation adds over the fitted model's own code.

Every other baseline sees the transformer's standardised frame features (``relative_to_first`` and
the scaler of its options), so the classifier is the only difference. The linear classifier is
a multinomial logistic regression (class-balanced when the transformer is), fitted to
its optimum with Newton's method; its L2 strength is chosen on the fold's validation subjects (the
training subjects when there are none), never on the test subjects.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from fer4d.device import resolve_device, seed_everything
from fer4d.formats.predictions import write_predictions
from fer4d.models.recurrent import ExpressionGRU
from fer4d.train.classifier.features import (
    FoldFeatures,
    class_weights,
    fold_features,
    read_fold_features,
    samples_of,
)
from fer4d.train.classifier.inference import predict_probabilities, probability_scores
from fer4d.train.classifier.options import BaselineOptions, EvaluationOptions, TransformerOptions
from fer4d.train.classifier.parameters import read_parameter_fold
from fer4d.train.classifier.training import selection_accuracy, train_member

log = logging.getLogger(__name__)


def apex_index(embedding: np.ndarray) -> int:
    """Index of the frame of ``embedding (T, d)`` farthest (Euclidean) from the first frame."""
    return int(np.linalg.norm(embedding - embedding[:1], axis=1).argmax())


def pooled_features(data: FoldFeatures, split: str, kind: str) -> np.ndarray:
    """One ``(d,)`` feature per sequence of ``split`` → ``(N, d) float32``: the apex frame's
    (``apex_linear``) or the mean over frames (``mean_linear``) of the standardised features."""
    if kind == "apex_linear":
        rows = [f[apex_index(s.embedding)] for s, f in zip(data.sequences[split], data.features[split])]
    elif kind == "mean_linear":
        rows = [f.mean(0) for f in data.features[split]]
    else:
        raise ValueError(f"no pooled features for baseline {kind!r}")
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, data.in_dim), np.float32)


@dataclass
class LinearClassifier:
    """Multinomial logistic regression: ``probabilities(x (N, d))`` → ``(N, C)``."""

    weight: torch.Tensor  # (d, C)
    bias: torch.Tensor  # (C,)

    def logits(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(x, np.float32)) @ self.weight + self.bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.logits(x), dim=1).numpy()


NEWTON_STEPS = 100
"""At most this many Newton steps for a linear baseline (it converges in about ten)."""

GRADIENT_TOLERANCE = 1e-9
"""Newton stops when no entry of the objective's gradient is larger."""


def fit_linear(
    x: np.ndarray, y: list[int], n_classes: int, l2: float, weights: torch.Tensor | None = None
) -> LinearClassifier:
    """Fit ``x (N, d)`` → ``y`` by minimising the (``weights``-weighted) mean cross-entropy plus
    ``l2 * ||W||²`` with Newton's method in float64: the exact Hessian of this convex objective
    over the (d + 1) · C unknowns, each step halved until the objective falls (Armijo), to the
    optimum (gradient below ``GRADIENT_TOLERANCE``), not an early stop. Plain Newton rather
    than ``torch.optim.LBFGS``: torch's optimisers import its compiler stack, 1 s of CPU in a
    job whose fits take a tenth of that."""
    design = torch.from_numpy(np.asarray(x, np.float64))
    design = torch.cat([design, torch.ones(len(design), 1, dtype=torch.float64)], dim=1)  # (N, d + 1)
    target = torch.nn.functional.one_hot(torch.tensor(y), n_classes).double()  # (N, C)
    class_weight = torch.ones(n_classes, dtype=torch.float64) if weights is None else weights.double()
    sample_weight = class_weight[torch.tensor(y)]
    sample_weight = sample_weight / sample_weight.sum()  # torch's weighted mean cross-entropy
    penalised = torch.ones(design.shape[1], 1, dtype=torch.float64)
    penalised[-1] = 0.0  # the bias is not penalised
    n_unknowns = design.shape[1] * n_classes

    def objective(theta: torch.Tensor) -> torch.Tensor:
        logits = design @ theta
        cross_entropy = torch.logsumexp(logits, 1) - (logits * target).sum(1)
        return (sample_weight * cross_entropy).sum() + l2 * (penalised * theta.square()).sum()

    theta = torch.zeros(design.shape[1], n_classes, dtype=torch.float64)  # [W; b]
    for _ in range(NEWTON_STEPS):
        probabilities = torch.softmax(design @ theta, dim=1)
        gradient = design.T @ (sample_weight[:, None] * (probabilities - target)) + 2 * l2 * penalised * theta
        if float(gradient.abs().max()) < GRADIENT_TOLERANCE:
            break
        curvature = sample_weight[:, None, None] * (
            torch.diag_embed(probabilities) - probabilities[:, :, None] * probabilities[:, None, :]
        )  # (N, C, C)
        hessian = torch.einsum("nj,nce,nk->jcke", design, curvature, design).reshape(n_unknowns, n_unknowns)
        # the penalty's curvature, and a whisker for the one flat direction (all biases alike)
        hessian += torch.diag((2 * l2 * penalised).expand(-1, n_classes).reshape(-1) + 1e-12)
        step = -torch.linalg.solve(hessian, gradient.reshape(-1)).reshape(theta.shape)
        current, slope, size = objective(theta), float((gradient * step).sum()), 1.0
        while float(objective(theta + size * step)) > float(current) + 1e-4 * size * slope and size > 1e-10:
            size /= 2
        theta = theta + size * step
    return LinearClassifier(theta[:-1].float(), theta[-1].float())


def linear_baseline(
    data: FoldFeatures, kind: str, options: BaselineOptions, balance: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit the linear baseline ``kind`` for each ``options.linear_l2``, keep the one with the best
    selection-split accuracy (ties: lower loss, then stronger L2) → test probabilities
    ``(N_test, C)`` and ``{"l2", "val_accuracy"}``."""
    n_classes = data.n_classes
    weights = class_weights(data.labels["train"], n_classes) if balance else None
    train_x = pooled_features(data, "train", kind)
    select_x = pooled_features(data, data.selection_split, kind)
    select_y = data.labels[data.selection_split]
    best = None
    for l2 in sorted(options.linear_l2, reverse=True):
        model = fit_linear(train_x, data.labels["train"], n_classes, l2, weights)
        loss, accuracy = probability_scores(model.probabilities(select_x), select_y)
        if best is None or (accuracy, -loss) > (best[1], -best[2]):
            best = (model, accuracy, loss, l2)
    model, accuracy, _, l2 = best
    return model.probabilities(pooled_features(data, "test", kind)), {"l2": l2, "val_accuracy": accuracy}


def ensemble_baseline(
    data: FoldFeatures,
    transformer: TransformerOptions,
    device: torch.device,
    seed: int,
    build_model: Callable[[int, int], nn.Module] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train a seed ensemble with the transformer's recipe (``build_model(in_dim, n_classes)``;
    default: the transformer) → test probabilities ``(N_test, C)`` and ``{"best_epochs",
    "val_accuracy"}`` (None where nothing was chosen: the validation subjects were trained on)."""
    members = [train_member(data, transformer, device, seed + i, build_model) for i in range(transformer.ensemble)]
    models = [model for model, _ in members]
    test = predict_probabilities(models, data.features["test"], device) if data.features["test"] else None
    return test, {
        "best_epochs": [history["best_epoch"] for _, history in members],
        "val_accuracy": selection_accuracy(models, data, device),
    }


def train_baseline(
    embeddings_path: str | os.PathLike,
    predictions_path: str | os.PathLike,
    kind: str,
    transformer: TransformerOptions,
    options: BaselineOptions,
    device: str = "auto",
    seed: int = 0,
    evaluation: EvaluationOptions | None = None,
    store_path: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train baseline ``kind`` (one of ``BASELINE_KINDS``) on a fold's ``embeddings.h5`` and write
    its test predictions (``fer4d.formats.predictions``, the transformer's format); on whole
    sequences or, as the transformer, on the sliding windows of ``evaluation``;
    ``flame_transformer`` reads the fold's FLAME parameters from ``store_path``. Returns
    ``{fold, kind, val_accuracy, test_accuracy, n_train, n_val, n_test, seconds, ...}`` plus the
    chosen ``l2`` (linear) or ``best_epochs`` (GRU, FLAME transformer)."""
    started = time.monotonic()
    torch_device = resolve_device(device)
    evaluation = evaluation or EvaluationOptions()
    # the trained baselines follow the transformer's recipe; the linear ones choose their L2 on
    # the validation subjects
    merge = transformer.train_on_validation and kind in ("gru", "flame_transformer")
    data = read_fold_features(embeddings_path, transformer.relative_to_first, transformer.scale_per_channel, merge)
    if kind == "flame_transformer":
        if store_path is None:
            raise ValueError("baseline flame_transformer needs the store (store_path)")
        parameters = read_parameter_fold(store_path, data.fold)
        data = fold_features(
            parameters, transformer.relative_to_first, transformer.scale_per_channel, store_path, merge
        )
    samples, windows = samples_of(data, evaluation.window, evaluation.step)
    if kind == "gru":
        build = lambda in_dim, n_classes: ExpressionGRU(
            in_dim, options.gru_hidden, options.gru_layers, transformer.dropout, n_classes
        )
        probs, chosen = ensemble_baseline(samples, transformer, torch_device, seed, build)
    elif kind == "flame_transformer":
        probs, chosen = ensemble_baseline(samples, transformer, torch_device, seed)
    elif kind in ("apex_linear", "mean_linear"):
        seed_everything(seed)
        probs, chosen = linear_baseline(samples, kind, options, transformer.balance)
    else:
        raise ValueError(f"unknown baseline {kind!r}")
    window_probs = None
    if windows is not None and probs is not None:
        probs, window_probs = windows.sequence_probabilities(probs)
    items = data.test_predictions(probs, window_probs=window_probs) if probs is not None else []
    write_predictions(predictions_path, data.fold, items, data.label_names)
    summary = {
        "fold": data.fold,
        "kind": kind,
        **chosen,
        "test_accuracy": float(np.mean([i.true == i.pred for i in items])) if items else float("nan"),
        **{f"n_{split}": len(data.features[split]) for split in ("train", "val", "test")},
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("fold %s baseline %s done: %s", data.fold, kind, summary)
    return summary
