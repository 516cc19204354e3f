"""The trained-model checkpoints of a fold: ``autoencoder.pt`` (stage ``train_autoencoder``,
read by ``embed`` and ``fer4d predict``) and ``transformer.pt`` (stage ``train_transformer``,
read by ``fer4d predict``). One dataclass and a ``write_*``/``read_*`` pair each, the only code
that knows their keys; the files are plain dicts of tensors, numbers and strings
(``fer4d.checkpoint``: atomic ``torch.save``, ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

from fer4d.checkpoint import load_checkpoint, save_checkpoint
from fer4d.errors import InputFileError


@dataclass
class AutoencoderCheckpoint:
    """``model``: the spiral auto-encoder's state dict; ``options``: its ``AutoencoderOptions``
    as a dict; ``hierarchy``: digest of the mesh hierarchy it was built on; ``stats``: the input
    standardisation (``{"mean", "std"}`` tensors ``(V, 3)``, mm); ``fold``; best ``epoch``;
    ``input``: what the model encodes (``fer4d.train.inputs``), ``absolute`` in checkpoints
    written before it was recorded."""

    model: dict[str, torch.Tensor]
    options: dict
    hierarchy: str
    stats: dict[str, torch.Tensor]
    fold: int
    epoch: int
    input: str = "absolute"


@dataclass
class ClassifierCheckpoint:
    """A fold's transformer ensemble: ``member_states`` (one state dict per member), ``in_dim``
    (embedding size), ``options`` (``TransformerOptions`` as a dict), the feature standardisation
    ``feature_mean``/``feature_std`` ``(d,)`` tensors, the class ``labels``, ``fold``, each
    member's ``best_epochs``, the first member's ``seed`` and the sliding ``window`` (frames,
    0 = whole sequences) and ``step`` it was trained on."""

    member_states: list[dict[str, torch.Tensor]]
    in_dim: int
    options: dict
    feature_mean: torch.Tensor
    feature_std: torch.Tensor
    labels: list[str]
    fold: int
    best_epochs: list[int]
    seed: int
    window: int = 0
    step: int = 1


def _write(path: str | os.PathLike, checkpoint) -> None:
    save_checkpoint(path, {field.name: getattr(checkpoint, field.name) for field in dataclasses.fields(checkpoint)})


def _read(cls, path: str | os.PathLike, device: str | torch.device):
    state = load_checkpoint(path, device)
    fields = dataclasses.fields(cls)
    optional = {f.name for f in fields if f.default is not dataclasses.MISSING}
    missing = [f.name for f in fields if f.name not in state and f.name not in optional]
    if missing:
        raise InputFileError(path, f"not a {cls.__name__} file: missing {missing}")
    return cls(**{f.name: state[f.name] for f in fields if f.name in state})


def write_autoencoder_checkpoint(path: str | os.PathLike, checkpoint: AutoencoderCheckpoint) -> None:
    _write(path, checkpoint)


def read_autoencoder_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> AutoencoderCheckpoint:
    return _read(AutoencoderCheckpoint, path, device)


def write_classifier_checkpoint(path: str | os.PathLike, checkpoint: ClassifierCheckpoint) -> None:
    _write(path, checkpoint)


def read_classifier_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> ClassifierCheckpoint:
    return _read(ClassifierCheckpoint, path, device)
