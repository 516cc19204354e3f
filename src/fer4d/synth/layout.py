"""The BU-4DFE layout of the synthetic dataset, planned without touching disk.

Subjects are named as in BU-4DFE (``F001, M001, F002, M002, ...``) and expressions live in the
folders ``Angry, Disgust, Fear, Happy, Sad, Surprise``; a filmed dataset (an image ``format``)
follows MUG instead, ``{subject}/{emotion}/take000/``. The plan (who performs what, for how
many frames) depends only on the options, so the workflow can fan out one job per sequence at
start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer4d import BU4DFE_FOLDERS, LABELS
from fer4d.labels import LabelOptions
from fer4d.synth.options import SynthOptions
from fer4d.synth.video import IMAGE_FORMATS

FOLDERS = BU4DFE_FOLDERS
TAKE = "take000"
"""A filmed dataset (an image ``format``) is laid out as MUG: ``{subject}/{emotion}/take000/img_0001.jpg``."""

# Streams of the seed tree: numpy SeedSequence entropy [seed, STREAM, ...].
STREAM_LENGTH = 1
STREAM_SUBJECT = 2
STREAM_SEQUENCE = 3


def subject_name(subject_index: int) -> str:
    """0 → ``F001``, 1 → ``M001``, 2 → ``F002``, ... (BU-4DFE style, alternating sex)."""
    sex = "F" if subject_index % 2 == 0 else "M"
    return f"{sex}{subject_index // 2 + 1:03d}"


def stream_rng(seed: int, stream: int, *keys: int) -> np.random.Generator:
    """An independent generator for one random stream and key path of the seed tree."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *keys]))


@dataclass(frozen=True)
class PlannedSequence:
    """One sequence of the plan: ``subject`` (e.g. ``F001``), canonical ``label``, ``folder``."""

    subject_index: int
    subject: str
    label: str
    folder: str
    n_frames: int


def plan_sequences(options: SynthOptions) -> list[PlannedSequence]:
    """Every (subject, expression) pair with its frame count, deterministic for the seed."""
    plan = []
    for s in range(options.subjects):
        for k, label in enumerate(LABELS):
            rng = stream_rng(options.seed, STREAM_LENGTH, s, k)
            n_frames = int(rng.integers(options.frames_min, options.frames_max + 1))
            folder = f"{label}/{TAKE}" if options.format in IMAGE_FORMATS else FOLDERS[label]
            plan.append(PlannedSequence(s, subject_name(s), label, folder, n_frames))
    return plan


def synthetic_sequences(options: SynthOptions, labels: LabelOptions | None = None) -> list[tuple[str, str, str]]:
    """``[(subject, label, folder), ...]`` of the dataset ``options`` describes; no disk access.

    ``labels``: the run's label set; the sequences of the emotions it leaves out are not listed
    (they are still generated). A class the generator does not perform raises ValueError.
    """
    names = LABELS if labels is None else labels.names
    missing = [name for name in names if name not in LABELS]
    if missing:
        raise ValueError(
            f"labels.names {missing}: the synthetic dataset performs only {list(LABELS)}; "
            "name some of those, or use a dataset of your own (dataset.source: directory)"
        )
    return [(p.subject, p.label, p.folder) for p in plan_sequences(options) if p.label in names]
