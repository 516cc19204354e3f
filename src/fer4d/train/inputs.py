"""What the spiral auto-encoder sees of a registered frame, and the way back.

The registration already separates identity from expression: every fitted frame is FLAME's
template plus the subject's identity blendshapes plus expression and jaw/neck/eye pose (Li et
al., "Learning a model of facial shape and expression from 4D scans", SIGGRAPH Asia 2017).
``input: displacement`` gives the auto-encoder each frame minus its sequence's neutral mesh
(template + fitted identity, ``fer4d.flame.FlameModel.neutral``), so it models expressions and
not the few training identities; ``input: absolute`` gives it the registered vertices (what
CoMA, Ranjan et al. ECCV 2018, and Neural3DMM, Bouritsas et al. ICCV 2019, reconstruct).

Either is then standardised with statistics of the fold's training frames: ``(x - mean) / std``
with a per-vertex ``mean (V, 3)`` and, for ``normalise: per_vertex``, a per-coordinate ``std
(V, 3)``, for ``global`` one std for every coordinate (the RMS deviation; a vertex that barely
moves in training is not blown up), for ``none`` mean 0 and std 1. ``min_std_mm`` floors the std.

``identity_mix`` (absolute input only; under ``displacement`` the input would not change):
a training frame's displacement put on another training subject's neutral mesh, so an
absolute-input model sees more identities than the fold's few.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from fer4d.formats.store import MeshStore

INPUTS = ("displacement", "absolute")
NORMALISATIONS = ("global", "per_vertex", "none")


@dataclass
class InputTransform:
    """``input`` (one of :data:`INPUTS`) and the standardisation ``mean``, ``std`` ``(V, 3)`` mm."""

    input: str
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def compute(
        cls, store_path: str | os.PathLike, keys: list[str], input: str, normalise: str, min_std_mm: float
    ) -> InputTransform:
        """Statistics over every frame of ``keys`` (one sequence in memory at a time, float64 sums)."""
        if input not in INPUTS or normalise not in NORMALISATIONS:
            raise ValueError(f"input must be one of {INPUTS} and normalise one of {NORMALISATIONS}")
        total = squares = None
        count = 0
        with MeshStore(store_path) as store:
            for key in keys:
                frames = store.sequence(key).astype(np.float64)
                if input == "displacement":
                    frames -= store.neutral(key)
                total = frames.sum(0) if total is None else total + frames.sum(0)
                squares = (frames**2).sum(0) if squares is None else squares + (frames**2).sum(0)
                count += len(frames)
        if count == 0:
            raise ValueError("no frames to compute input statistics from")
        mean = total / count
        variance = np.maximum(squares / count - mean**2, 0.0)
        if normalise == "none":
            mean, std = np.zeros_like(mean), np.ones_like(mean)
        elif normalise == "global":
            std = np.full_like(mean, np.sqrt(variance.mean()))
        else:
            std = np.sqrt(variance)
        return cls(input, mean.astype(np.float32), np.maximum(std, min_std_mm).astype(np.float32))

    def encode(self, vertices, neutral):
        """Registered ``vertices (…, V, 3)`` mm and their ``neutral (…, V, 3)`` mm → model input
        (numpy arrays or torch tensors, on their device)."""
        mean, std = self._like(vertices)
        x = vertices - neutral if self.input == "displacement" else vertices
        return (x - mean) / std

    def decode(self, values, neutral):
        """Inverse of :meth:`encode`: model output → vertices (…, V, 3) mm."""
        mean, std = self._like(values)
        x = values * std + mean
        return x + neutral if self.input == "displacement" else x

    def _like(self, x):
        if isinstance(x, torch.Tensor):
            as_tensor = lambda a: torch.as_tensor(a, dtype=x.dtype, device=x.device)
            return as_tensor(self.mean), as_tensor(self.std)
        return self.mean, self.std

    def stats(self) -> dict[str, torch.Tensor]:
        """``{"mean", "std"}`` tensors, for checkpoints that load with ``weights_only=True``."""
        return {"mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std)}

    @classmethod
    def from_stats(cls, input: str, stats: dict) -> InputTransform:
        if input not in INPUTS:
            raise ValueError(f"unknown auto-encoder input {input!r}; known: {INPUTS}")
        return cls(input, np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32))


def mix_identities(
    positions: torch.Tensor, subjects: torch.Tensor, probability: float, generator: torch.Generator
) -> torch.Tensor:
    """Neutral meshes to put a batch's displacements on: ``positions (B,)`` are the frames' own
    sequences, ``subjects (S,)`` the subject code of every training sequence. With
    ``probability``, a frame gets a random training sequence of another subject instead (a draw
    that lands on its own subject keeps its own: slightly fewer swaps than ``probability``).
    Returns ``(B,)`` sequence positions."""
    chosen = torch.rand(len(positions), generator=generator) < probability
    other = torch.randint(0, len(subjects), (len(positions),), generator=generator)
    swap = chosen & (subjects[other] != subjects[positions])
    return torch.where(swap, other, positions)
