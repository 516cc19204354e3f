"""Checkpoints as plain dicts of tensors and primitives: saved atomically, loaded with
``weights_only=True`` (no arbitrary unpickling)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by ``save_checkpoint`` (tensors, dicts, lists, numbers, strings)."""
    if not Path(path).exists():
        raise InputFileError(path, "checkpoint not found")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise InputFileError(path, f"not a loadable checkpoint ({type(err).__name__}: {err})") from err
