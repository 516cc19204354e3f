"""PyTorch datasets over a store: frames for the auto-encoder, read lazily (one chunk per item),
the store opened once per worker process; per-vertex normalisation statistics."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from fer4d.formats.store import MeshStore


@dataclass
class VertexStats:
    """Per-vertex mean and standard deviation, (V, 3) each, mm. Computed on training frames only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def compute(cls, store_path: str | os.PathLike, keys: list[str], min_std: float = 1e-3) -> VertexStats:
        """Stream over every frame of ``keys`` (one sequence in memory at a time), float64 sums."""
        total = squares = None
        count = 0
        with MeshStore(store_path) as store:
            for key in keys:
                frames = store.sequence(key).astype(np.float64)
                total = frames.sum(0) if total is None else total + frames.sum(0)
                squares = (frames**2).sum(0) if squares is None else squares + (frames**2).sum(0)
                count += len(frames)
        if count == 0:
            raise ValueError("no frames to compute vertex statistics from")
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        return cls(mean.astype(np.float32), np.maximum(std, min_std).astype(np.float32))

    def normalise(self, vertices):
        """(…, V, 3) mm → normalised; numpy arrays or torch tensors (moved to their device)."""
        mean, std = self._like(vertices)
        return (vertices - mean) / std

    def denormalise(self, values):
        """Inverse of ``normalise``."""
        mean, std = self._like(values)
        return values * std + mean

    def _like(self, x):
        if isinstance(x, torch.Tensor):
            return (
                torch.as_tensor(self.mean, dtype=x.dtype, device=x.device),
                torch.as_tensor(self.std, dtype=x.dtype, device=x.device),
            )
        return self.mean, self.std

    def to_dict(self) -> dict[str, torch.Tensor]:
        """Tensors, for checkpoints that load with ``weights_only=True``."""
        return {"mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std)}

    @classmethod
    def from_dict(cls, values: dict) -> VertexStats:
        return cls(np.asarray(values["mean"], np.float32), np.asarray(values["std"], np.float32))


class FrameDataset(Dataset):
    """Every frame of the sequences ``keys``; item = normalised vertices ``(V, 3)`` float32 tensor."""

    def __init__(self, store_path: str | os.PathLike, keys: list[str], stats: VertexStats | None = None):
        self.store = MeshStore(store_path)
        self.stats = stats
        self.index = [(key, t) for key in keys for t in range(self.store.info(key).n_frames)]
        self.store.close()  # reopened lazily in each worker

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> torch.Tensor:
        key, t = self.index[i]
        vertices = self.store.frame(key, t)
        if self.stats is not None:
            vertices = self.stats.normalise(vertices)
        return torch.from_numpy(np.ascontiguousarray(vertices, dtype=np.float32))
