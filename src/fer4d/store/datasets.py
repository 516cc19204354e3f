"""PyTorch datasets over a store: frames for the auto-encoder, read lazily (one chunk per item),
the store opened once per worker process, with each sequence's neutral mesh."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset

from fer4d.formats.store import MeshStore


class FrameDataset(Dataset):
    """Every frame of the sequences ``keys``; item = ``(vertices (V, 3) float32 tensor mm, i)``
    with ``i`` the position of the frame's sequence in ``keys`` (its neutral mesh is
    ``neutrals()[i]``, its subject ``subjects[i]``)."""

    def __init__(self, store_path: str | os.PathLike, keys: list[str]):
        self.store = MeshStore(store_path)
        self.keys = list(keys)
        self.subjects = [self.store.info(key).subject for key in self.keys]
        self.index = [(i, t) for i, key in enumerate(self.keys) for t in range(self.store.info(key).n_frames)]
        self.store.close()  # reopened lazily in each worker

    def neutrals(self) -> np.ndarray:
        """(S, V, 3) float32 mm: the neutral mesh of each sequence of ``keys``."""
        with MeshStore(self.store.path) as store:
            return np.stack([store.neutral(key) for key in self.keys]) if self.keys else np.zeros((0, 0, 3), np.float32)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        position, t = self.index[i]
        vertices = self.store.frame(self.keys[position], t)
        return torch.from_numpy(np.ascontiguousarray(vertices, dtype=np.float32)), position
