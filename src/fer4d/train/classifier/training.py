"""Stage ``train_transformer``: train one fold's temporal transformer and predict its test set.

Training uses the fold's ``train`` and, with ``train_on_validation`` (the default), its
validation sequences too; every member is then kept after ``epochs`` epochs. Otherwise the
epoch with the best validation accuracy (ties: lower validation loss) is kept. The ``test``
sequences are predicted with the kept members. ``ensemble``
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
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from fer4d.atomic import write_json
from fer4d.device import resolve_device, seed_everything
from fer4d.formats.checkpoints import ClassifierCheckpoint, write_classifier_checkpoint
from fer4d.formats.predictions import write_predictions
from fer4d.formats.store import SPLITS
from fer4d.models.transformer import ExpressionTransformer
from fer4d.progress import progress
from fer4d.train.adam import Adam
from fer4d.train.classifier.features import (
    FeatureScaler,
    FoldFeatures,
    augment,
    class_weights,
    pad_batch,
    read_fold_features,
    samples_of,
)
from fer4d.train.classifier.inference import predict_probabilities, probabilities_over_time, probability_scores
from fer4d.train.classifier.options import EvaluationOptions, TransformerOptions

log = logging.getLogger(__name__)


def _evaluate(models, features, labels, device) -> tuple[float, float]:
    """Mean negative log-likelihood and accuracy of the ensemble ``models`` on ``features`` with
    integer ``labels``."""
    return probability_scores(predict_probabilities(models, features, device), labels)


def selection_accuracy(models, data: FoldFeatures, device) -> float | None:
    """The ensemble ``models``' accuracy on ``data.selection_split``; None where nothing is chosen
    (the validation subjects were trained on)."""
    if data.selection_split is None:
        return None
    split = data.selection_split
    return _evaluate(models, data.features[split], data.labels[split], device)[1]


def save_classifier(
    path: str | os.PathLike,
    models: list[ExpressionTransformer],
    in_dim: int,
    options: TransformerOptions,
    scaler: FeatureScaler,
    fold: int,
    best_epochs: list[int],
    seed: int,
    labels: list[str],
    evaluation: EvaluationOptions | None = None,
) -> None:
    """Write the ensemble's ``transformer.pt`` (``fer4d.formats.checkpoints.ClassifierCheckpoint``)
    with its class names ``labels`` in index order and the sliding windows of ``evaluation``."""
    evaluation = evaluation or EvaluationOptions()
    write_classifier_checkpoint(
        path,
        ClassifierCheckpoint(
            member_states=[{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models],
            in_dim=in_dim,
            options=options.to_dict(),
            feature_mean=torch.from_numpy(scaler.mean),
            feature_std=torch.from_numpy(scaler.std),
            labels=list(labels),
            window=evaluation.window,
            step=evaluation.step,
            fold=fold,
            best_epochs=best_epochs,
            seed=seed,
        ),
    )


def train_member(
    data: FoldFeatures,
    options: TransformerOptions,
    device: torch.device,
    seed: int,
    build_model: Callable[[int, int], nn.Module] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train one sequence classifier from ``seed`` on the fold's training features and return it
    at its best epoch on ``data.selection_split`` (its last epoch where that is None), with its
    history ``{"seed", "best_epoch", "epochs": [{epoch, train_loss, train_accuracy, val_loss,
    val_accuracy}]}`` (no ``val_*`` where nothing is chosen).

    ``build_model(in_dim, n_classes)`` makes the untrained model (called after seeding); by
    default the transformer of ``options``. Any module with ``forward(x, mask)`` → logits trains
    the same way (the GRU baseline does)."""
    features, labels, selection_split, fold = data.features, data.labels, data.selection_split, data.fold
    generator = seed_everything(seed)
    rng = np.random.default_rng(seed)
    if build_model is None:
        build_model = lambda d, n: ExpressionTransformer(d, n_classes=n, **options.model_kwargs())
    model = build_model(data.in_dim, data.n_classes).to(device)
    optimiser = Adam(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)  # AdamW
    weights = class_weights(labels["train"], data.n_classes) if options.balance else None
    train_loss_fn = nn.CrossEntropyLoss(weight=weights.to(device) if weights is not None else None)
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
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total_loss += loss.item() * len(chosen)
            correct += int((logits.argmax(1) == target).sum())
        history.append({"epoch": epoch, "train_loss": total_loss / n_train, "train_accuracy": correct / n_train})
        if selection_split is None:
            continue
        val_loss, val_accuracy = _evaluate([model], features[selection_split], labels[selection_split], device)
        history[-1].update(val_loss=val_loss, val_accuracy=val_accuracy)
        if best is None or (val_accuracy, -val_loss) > (best["val_accuracy"], -best["val_loss"]):
            best = history[-1]
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best is None:  # nothing chosen: the last epoch
        return model, {"seed": seed, "best_epoch": options.epochs, "epochs": history}
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
    evaluation: EvaluationOptions | None = None,
) -> dict[str, Any]:
    """Train the fold's transformer ensemble (each member at its best validation epoch) and
    predict the test sequences with it; on whole sequences, or with ``evaluation.window`` on
    sliding windows (a test sequence's probabilities: the mean of its windows').

    Writes the checkpoint (``fer4d.formats.checkpoints``, load with :func:`load_classifier`), the
    predictions JSON (``{"fold", "labels", "items": [{"key", "subject", "true", "pred",
    "probs", "probs_over_time", "window_probs"}]}``, ``fer4d.formats.predictions``) and the
    history JSON (``{"fold", "selection_split", "members": [{"seed",
    "best_epoch", "epochs": [{"epoch", "train_loss", "train_accuracy", "val_loss",
    "val_accuracy"}]}]}``). Returns a summary dict ``{fold, best_epochs, val_accuracy,
    test_accuracy, n_train, n_val, n_test, seconds}`` (accuracies of the ensemble;
    ``val_accuracy`` None where the validation subjects were trained on).
    """
    started = time.monotonic()
    torch_device = resolve_device(device)
    evaluation = evaluation or EvaluationOptions()
    data = read_fold_features(
        embeddings_path, options.relative_to_first, options.scale_per_channel, options.train_on_validation
    )
    samples, windows = samples_of(data, evaluation.window, evaluation.step)
    fold, features, selection_split = data.fold, samples.features, data.selection_split
    log.info(
        "fold %s: %d train, %d val, %d test sequences (%s), %d features, %d members, device %s",
        fold,
        *(len(data.sequences[s]) for s in SPLITS),
        f"{len(features['train'])} training windows of {evaluation.window}" if windows else "whole",
        data.in_dim,
        options.ensemble,
        torch_device,
    )
    members = [train_member(samples, options, torch_device, seed + i) for i in range(options.ensemble)]
    models = [model for model, _ in members]
    histories = [history for _, history in members]
    save_classifier(
        checkpoint_path,
        models,
        data.in_dim,
        options,
        data.scaler,
        fold,
        [h["best_epoch"] for h in histories],
        seed,
        data.label_names,
        evaluation,
    )
    items = []
    if features["test"]:
        over_time = [probabilities_over_time(models, f, torch_device, evaluation.window) for f in data.features["test"]]
        probs, window_probs = predict_probabilities(models, features["test"], torch_device), None
        if windows is not None:
            probs, window_probs = windows.sequence_probabilities(probs)
        items = data.test_predictions(probs, over_time, window_probs)
    write_predictions(predictions_path, fold, items, data.label_names)
    write_json(history_path, {"fold": fold, "selection_split": selection_split, "members": histories})
    val_accuracy = selection_accuracy(models, samples, torch_device)
    test_accuracy = float(np.mean([i.true == i.pred for i in items])) if items else float("nan")
    summary = {
        "fold": fold,
        "best_epochs": [h["best_epoch"] for h in histories],
        "val_accuracy": val_accuracy,
        "test_accuracy": test_accuracy,
        "n_train": len(features["train"]),
        "n_val": len(features["val"]),
        "n_test": len(features["test"]),
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("fold %s done: %s", fold, summary)
    return summary
