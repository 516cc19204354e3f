"""The embeddings file ``embeddings.h5`` (one per fold, written by stage ``embed``, read by
``train_transformer``): ``write_embeddings``, ``read_embeddings`` and ``embedding_width``, the only
code that opens one.

``sequences/{key}/embedding (T, d) float32``; attrs ``subject``, ``label``, ``label_index``,
``split`` (one of :data:`SPLITS`); file attrs ``fold``, ``latent_size``, ``labels`` (JSON list of
the class names in index order, as in the store).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d import LABELS
from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError
from fer4d.formats.store import SPLITS


@dataclass
class EmbeddedSequence:
    """One sequence of an embeddings file: ``embedding (T, d) float32``."""

    key: str
    subject: str
    label: str
    label_index: int
    split: str
    embedding: np.ndarray


@dataclass
class EmbeddingsFile:
    """A whole embeddings file: its fold, class names in index order and sequences in key order."""

    fold: int
    labels: list[str]
    sequences: list[EmbeddedSequence]


def write_embeddings(
    path: str | os.PathLike,
    fold: int,
    latent_size: int,
    sequences: Iterable[EmbeddedSequence],
    labels: Iterable[str] = LABELS,
) -> int:
    """Write ``sequences`` (consumed one at a time) atomically; return how many were written.

    A split outside :data:`SPLITS` or an embedding that is not ``(T, latent_size)`` raises
    ValueError before anything is renamed into place, so no file the classifier would reject
    is ever written.
    """
    count = 0
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as out:
        for seq in sequences:
            if seq.split not in SPLITS:
                raise ValueError(f"{path}: sequence {seq.key!r} has split {seq.split!r}, not one of {SPLITS}")
            embedding = np.asarray(seq.embedding, np.float32)
            if embedding.ndim != 2 or embedding.shape[1] != latent_size:
                raise ValueError(
                    f"{path}: sequence {seq.key!r} embedding {embedding.shape}, expected (T, {latent_size})"
                )
            group = out.create_group(f"sequences/{seq.key}")
            group["embedding"] = embedding
            group.attrs.update(
                {"subject": seq.subject, "label": seq.label, "label_index": seq.label_index, "split": seq.split}
            )
            count += 1
        out.attrs.update({"fold": fold, "latent_size": latent_size, "labels": json.dumps(list(labels))})
    return count


def read_embeddings(path: str | os.PathLike) -> EmbeddingsFile:
    """Read an ``embeddings.h5`` file; a label index outside its ``labels`` is an InputFileError."""
    try:
        with h5py.File(path, "r") as f:
            if "sequences" not in f:
                raise InputFileError(path, "no 'sequences' group: not an embeddings file")
            fold = int(f.attrs.get("fold", -1))
            labels = json.loads(f.attrs["labels"])
            sequences = []
            for key in sorted(f["sequences"]):
                group = f["sequences"][key]
                split = str(group.attrs["split"])
                if split not in SPLITS:
                    raise InputFileError(path, f"sequence {key!r} has unknown split {split!r}")
                label_index = int(group.attrs["label_index"])
                if not 0 <= label_index < len(labels):
                    raise InputFileError(path, f"sequence {key!r}: label index {label_index} of {len(labels)} classes")
                embedding = np.asarray(group["embedding"], dtype=np.float32)
                if embedding.ndim != 2 or embedding.shape[0] < 1:
                    raise InputFileError(path, f"sequence {key!r}: embedding shape {embedding.shape}, expected (T, d)")
                sequences.append(
                    EmbeddedSequence(
                        key,
                        str(group.attrs["subject"]),
                        str(group.attrs.get("label", "")),
                        label_index,
                        split,
                        embedding,
                    )
                )
    except (OSError, KeyError, ValueError) as err:  # ValueError: a labels attribute that is not JSON
        raise InputFileError(path, f"cannot read embeddings: {err}") from err
    if not sequences:
        raise InputFileError(path, "contains no sequences")
    return EmbeddingsFile(fold, labels, sequences)


def embedding_width(path: str | os.PathLike) -> int:
    """The embeddings' width ``d`` (file attribute ``latent_size``), without reading them."""
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs["latent_size"])
    except (OSError, KeyError) as err:
        raise InputFileError(path, f"cannot read the embeddings' width: {err}") from err
