"""The store ``dataset.h5`` (written by stage ``store``; schema in docs/store-schema.md):
``StoreWriter`` writes one, ``MeshStore`` reads one lazily (one sequence or one frame at a time,
never the whole file). No other module opens a store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d import LABELS, __version__
from fer4d.atomic import atomic_path
from fer4d.errors import InputFileError
from fer4d.formats.fit import FitSequence

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Fold:
    """Sequence keys of one fold; no subject appears in two of the three lists."""

    train: list[str]
    val: list[str]
    test: list[str]


def sequence_key(subject: str, label: str) -> str:
    """The store key of a sequence: ``{subject}__{label}``."""
    return f"{subject}__{label}"


class StoreWriter:
    """Write a store under a temporary name, renamed into place when the ``with`` block ends
    without an error (an interrupted run never leaves a file that looks complete).

    ``labels``: the class names in index order (file attribute ``labels``; a sequence's
    ``label_index`` is its label's place there). ``compression``: ``gzip`` (with
    ``compression_level``), ``lzf`` or ``none`` for the vertices, always with the shuffle filter;
    one chunk per frame.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        compression: str = "gzip",
        compression_level: int = 4,
        labels: tuple[str, ...] = LABELS,
    ):
        self.path = path
        self.labels = tuple(labels)
        self._compression = {
            "gzip": dict(compression="gzip", compression_opts=compression_level),
            "lzf": dict(compression="lzf"),
            "none": {},
        }[compression]

    def __enter__(self) -> StoreWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._file = h5py.File(tmp, "w")
        self._sequences = self._file.create_group("sequences")
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()
        self._atomic.__exit__(*exc)

    def __contains__(self, key: str) -> bool:
        return key in self._sequences

    def add_sequence(self, seq: FitSequence, neutral: np.ndarray) -> str:
        """Write ``seq`` as ``sequences/{subject}__{label}`` with its subject's ``neutral (V, 3)``
        mm mesh (``FlameModel.neutral`` of the fitted shape); return its key. A label outside
        the writer's ``labels`` raises InputFileError naming the fit."""
        if seq.label not in self.labels:
            raise InputFileError(seq.path, f"unknown label {seq.label!r}; expected one of {list(self.labels)}")
        key = sequence_key(seq.subject, seq.label)
        group = self._sequences.create_group(key)
        n_vertices = seq.vertices.shape[1]
        group.create_dataset(
            "vertices", data=seq.vertices, chunks=(1, n_vertices, 3), shuffle=True, **self._compression
        )
        group.create_dataset("neutral", data=np.asarray(neutral, np.float32))
        group.create_dataset("frame_index", data=seq.frame_index)
        for name, values in seq.quality.items():
            group.create_dataset(f"quality/{name}", data=values)
        for name, values in seq.params.items():
            group.create_dataset(f"params/{name}", data=values)
        group.attrs.update(
            {
                "subject": seq.subject,
                "label": seq.label,
                "label_index": self.labels.index(seq.label),
                "n_frames": len(seq.frame_index),
                "source": seq.path,
            }
        )
        return key

    def finish(
        self,
        template_vertices: np.ndarray,
        template_faces: np.ndarray,
        folds: list[Fold],
        fold_attrs: dict,
        config_hash: str,
        dropped: dict,
        regions: dict[str, np.ndarray] | None = None,
    ) -> None:
        """The template ``(V, 3)`` mm / ``(F, 3)``, its named vertex ``regions`` (name → ``(V,)``
        bool), the folds (``fold_attrs``: scheme, seed, ...) and the file's attributes."""
        self._file.create_dataset("template/vertices", data=np.asarray(template_vertices, np.float32))
        self._file.create_dataset("template/faces", data=np.asarray(template_faces, np.int32))
        for name, mask in (regions or {}).items():
            self._file.create_dataset(f"template/regions/{name}", data=np.asarray(mask, bool))
        group = self._file.create_group("folds")
        group.attrs.update({**fold_attrs, "k": len(folds)})
        for i, fold in enumerate(folds):
            for split in SPLITS:
                group.create_dataset(
                    f"{i}/{split}", data=np.array(getattr(fold, split), dtype=object), dtype=h5py.string_dtype()
                )
        self._file.attrs.update(
            {
                "labels": json.dumps(list(self.labels)),
                "fer4d_version": __version__,
                "config_hash": config_hash,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "dropped": json.dumps(dropped),
            }
        )


@dataclass(frozen=True)
class SequenceInfo:
    key: str
    subject: str
    label: str
    label_index: int
    n_frames: int


class MeshStore:
    """Read access to a ``dataset.h5`` store. Opens the file on first use, once per process
    (so an instance created before a ``DataLoader`` forks its workers is safe to use in them).

    ``with MeshStore(path) as store: store.frame(key, t)`` → ``(V, 3) float32`` mm.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._vertices: dict[str, h5py.Dataset] = {}  # key → its open vertices dataset

    @property
    def file(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as err:
                raise InputFileError(self.path, f"cannot open store ({err})") from err
            self._pid = os.getpid()
            if "sequences" not in self._file or "template" not in self._file:
                raise InputFileError(self.path, "not a fer4d store (needs sequences/ and template/)")
            self._vertices = {}
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None
        self._vertices = {}

    def __enter__(self) -> MeshStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {"path": self.path, "_file": None, "_pid": None}

    @property
    def attrs(self) -> dict:
        return dict(self.file.attrs)

    @property
    def labels(self) -> list[str]:
        return json.loads(self.file.attrs["labels"])

    @property
    def template_vertices(self) -> np.ndarray:
        """(V, 3) float32, mm."""
        return self.file["template/vertices"][()]

    @property
    def template_faces(self) -> np.ndarray:
        """(F, 3) int32."""
        return self.file["template/faces"][()]

    @property
    def regions(self) -> dict[str, np.ndarray]:
        """Named vertex regions of the template (``mouth``, ``eyes``, ``brows``), name → ``(V,)``
        bool; empty when the model had none (``fer4d.flame.expression_regions``)."""
        group = self.file["template"].get("regions", {})
        return {name: data[()].astype(bool) for name, data in group.items()}

    def keys(self) -> list[str]:
        return sorted(self.file["sequences"])

    def info(self, key: str) -> SequenceInfo:
        attrs = self.file["sequences"][key].attrs
        return SequenceInfo(
            key, str(attrs["subject"]), str(attrs["label"]), int(attrs["label_index"]), int(attrs["n_frames"])
        )

    def sequence(self, key: str) -> np.ndarray:
        """(T, V, 3) float32, mm."""
        return self.file["sequences"][key]["vertices"][()]

    def neutral(self, key: str) -> np.ndarray:
        """(V, 3) float32, mm: the sequence's neutral mesh (template + fitted identity, no
        expression, no pose), in the frame of its vertices."""
        group = self.file["sequences"][key]
        if "neutral" not in group:
            raise InputFileError(
                self.path, f"sequence {key} has no neutral mesh (an older store: rerun the store stage)"
            )
        return group["neutral"][()]

    def frame(self, key: str, t: int) -> np.ndarray:
        """(V, 3) float32, mm: reads one chunk (the sequence's dataset is looked up once: a
        training epoch reads frames one by one)."""
        file = self.file
        if key not in self._vertices:
            self._vertices[key] = file["sequences"][key]["vertices"]
        return self._vertices[key][t]

    def params(self, key: str) -> dict[str, np.ndarray]:
        """The fit's FLAME parameters, name → array (``expression (T, n_expr)``, ``pose (T, J, 3)``
        axis-angle radians, ``shape``, ``translation`` mm, ...): as the fit file holds them."""
        group = self.file["sequences"][key].get("params", {})
        return {name: data[()] for name, data in group.items()}

    def quality(self, key: str) -> dict[str, np.ndarray]:
        """Per-frame registration quality, name → (T,)."""
        group = self.file["sequences"][key].get("quality", {})
        return {name: data[()] for name, data in group.items()}

    @property
    def n_folds(self) -> int:
        return len(self.file["folds"])

    def fold(self, i: int) -> Fold:
        group = self.file["folds"].get(str(i))
        if group is None:
            raise IndexError(f"{self.path} has {self.n_folds} folds, no fold {i}")
        read = lambda split: [s.decode() if isinstance(s, bytes) else str(s) for s in group[split][()]]
        return Fold(train=read("train"), val=read("val"), test=read("test"))
