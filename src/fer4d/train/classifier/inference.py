"""Inference with a trained classifier: ensemble probabilities, and a loaded checkpoint ready for
raw embeddings."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fer4d.device import resolve_device
from fer4d.errors import InputFileError
from fer4d.formats.checkpoints import read_classifier_checkpoint
from fer4d.models.transformer import ExpressionTransformer
from fer4d.train.classifier.features import FeatureScaler, frame_features, pad_batch, window_spans
from fer4d.train.classifier.options import TransformerOptions


@torch.no_grad()
def predict_probabilities(
    models: list[nn.Module], features: list[np.ndarray], device: torch.device, batch_size: int = 32
) -> np.ndarray:
    """Class probabilities ``(N, n_classes)`` of standardised ``features`` (list of ``(T_i, d)``),
    averaged over the ensemble ``models`` (each ``forward(x, mask)`` → logits, with a linear
    ``head``: the transformer or the GRU)."""
    for model in models:
        model.eval()
    chunks = []
    for start in range(0, len(features), batch_size):
        x, mask = pad_batch(features[start : start + batch_size])
        x, mask = x.to(device), mask.to(device)
        members = [torch.softmax(model(x, mask).float(), dim=-1) for model in models]
        chunks.append(torch.stack(members).mean(0).cpu().numpy())
    return np.concatenate(chunks, axis=0) if chunks else np.zeros((0, models[0].head.out_features))


def probabilities_over_time(
    models: list[nn.Module], features: np.ndarray, device: torch.device, window: int = 0
) -> np.ndarray:
    """Causal class probabilities ``(T, n_classes)`` of one standardised sequence ``features
    (T, d)``: row ``t`` is the ensemble's prediction from frames ``0..t`` alone (with a
    ``window``, from the last ``window`` of them), as a live system would see it (the model runs
    on every such span, padded, never peeking ahead)."""
    start = lambda t: max(0, t + 1 - window) if window > 0 else 0
    return predict_probabilities(models, [features[start(t) : t + 1] for t in range(len(features))], device)


def probability_scores(probs: np.ndarray, labels: list[int]) -> tuple[float, float]:
    """``(mean negative log-likelihood, accuracy)`` of class probabilities ``probs (N, C)``
    against integer ``labels`` (``N >= 1``)."""
    loss = nn.functional.nll_loss(torch.log(torch.from_numpy(probs).clamp_min(1e-12)), torch.tensor(labels))
    return float(loss), float((probs.argmax(1) == np.asarray(labels)).mean())


@dataclass
class LoadedClassifier:
    """A trained classifier ready for inference on raw (unstandardised) embeddings."""

    models: list[ExpressionTransformer]
    labels: list[str]
    options: TransformerOptions
    scaler: FeatureScaler
    device: torch.device
    window: int = 0
    step: int = 1

    def features(self, embedding: np.ndarray) -> np.ndarray:
        """``embedding (T, d)`` → the standardised model input ``(T, d)``."""
        return self.scaler(frame_features(embedding, self.options.relative_to_first))

    def probabilities(self, embeddings: list[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(N, len(labels))`` of raw embeddings (list of ``(T_i, d)``); a
        classifier trained on sliding windows averages the windows of each sequence."""
        features = [self.features(e) for e in embeddings]
        if self.window <= 0:
            return predict_probabilities(self.models, features, self.device)
        spans = [window_spans(len(f), self.window, self.step) for f in features]
        windows = [f[start:end] for f, own in zip(features, spans) for start, end in own]
        probs = predict_probabilities(self.models, windows, self.device)
        bounds = np.cumsum([0, *map(len, spans)])
        return np.stack([probs[a:b].mean(0) for a, b in itertools.pairwise(bounds)])


def load_classifier(path: str | os.PathLike, device: str = "auto") -> LoadedClassifier:
    """The ensemble of a ``transformer.pt`` checkpoint (``fer4d.formats.checkpoints``), on ``device``."""
    state = read_classifier_checkpoint(path)
    try:
        options = TransformerOptions.from_dict(state.options)
        models = []
        for member_state in state.member_states:
            models.append(
                ExpressionTransformer(int(state.in_dim), n_classes=len(state.labels), **options.model_kwargs())
            )
            models[-1].load_state_dict(member_state)
    except (RuntimeError, ValueError) as err:
        raise InputFileError(path, f"not a usable transformer checkpoint: {err}") from err
    torch_device = resolve_device(device)
    scaler = FeatureScaler(state.feature_mean.numpy(), state.feature_std.numpy())
    models = [m.to(torch_device).eval() for m in models]
    return LoadedClassifier(models, list(state.labels), options, scaler, torch_device, state.window, state.step)
