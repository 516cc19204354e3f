"""Per-epoch frame sampling: a fixed number of frames from every sequence, not every frame.

Consecutive frames of a 25 fps sequence are near duplicates, so an epoch over every frame
grows with the frame rate without showing the model more of the data. ``FramesPerSequence``
draws ``per_sequence`` frames of each sequence per epoch, one from each of ``per_sequence``
equal stretches of it (stratified: the whole expression is covered every epoch), and a new
draw every epoch, so over the epochs every frame is used. An epoch then costs
``n_sequences × per_sequence`` frames whatever the frame rate. ``central_frames`` picks the
same number of frames without chance, the centre of each stretch: a fixed subset on which to
compare epochs (the per-epoch validation error).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


def sequence_runs(index: Sequence[tuple[str, int]]) -> list[np.ndarray]:
    """Item positions of each sequence, in order: ``index`` is ``[(sequence, frame), ...]`` with the
    frames of one sequence next to each other (as ``FrameDataset.index`` holds them)."""
    runs: list[np.ndarray] = []
    start = 0
    for i in range(1, len(index) + 1):
        if i == len(index) or index[i][0] != index[start][0]:
            runs.append(np.arange(start, i))
            start = i
    return runs


def stratified_frames(n_frames: int, per_sequence: int, rng: np.random.Generator) -> np.ndarray:
    """``min(n_frames, per_sequence)`` distinct frame numbers in ``[0, n_frames)``, one drawn
    uniformly from each of that many equal stretches of the sequence, ascending."""
    if n_frames <= per_sequence:
        return np.arange(n_frames)
    edges = np.linspace(0, n_frames, per_sequence + 1)
    low, high = np.ceil(edges[:-1]).astype(int), np.ceil(edges[1:]).astype(int)
    return low + (rng.random(per_sequence) * (high - low)).astype(int)


def central_frames(index: Sequence[tuple[str, int]], per_sequence: int) -> np.ndarray:
    """Dataset positions of ``min(len, per_sequence)`` frames of every sequence of ``index``: the
    central frame of each of ``per_sequence`` equal stretches of it, in order (no chance: the
    same frames every call)."""
    if per_sequence < 1:
        raise ValueError(f"per_sequence must be >= 1, got {per_sequence}")
    chosen = []
    for run in sequence_runs(index):
        if len(run) <= per_sequence:
            chosen.append(run)
        else:
            chosen.append(run[((np.arange(per_sequence) + 0.5) * len(run) / per_sequence).astype(int)])
    return np.concatenate(chosen) if chosen else np.zeros(0, int)


class FramesPerSequence(Sampler[int]):
    """Dataset positions for one epoch: ``per_sequence`` stratified frames of every sequence of
    ``index``, shuffled. Seeded by ``seed`` (give ``seed + epoch``), so a resumed run draws the
    same frames as an uninterrupted one."""

    def __init__(self, index: Sequence[tuple[str, int]], per_sequence: int, seed: int):
        if per_sequence < 1:
            raise ValueError(f"per_sequence must be >= 1, got {per_sequence}")
        self.runs = sequence_runs(index)
        self.per_sequence = per_sequence
        self.seed = seed

    def __len__(self) -> int:
        return sum(min(len(run), self.per_sequence) for run in self.runs)

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(self.seed)
        chosen = np.concatenate(
            [run[stratified_frames(len(run), self.per_sequence, rng)] for run in self.runs] or [np.zeros(0, int)]
        )
        order = torch.randperm(len(chosen), generator=torch.Generator().manual_seed(self.seed)).numpy()
        return iter(chosen[order].tolist())
