"""Read a store lazily: one sequence or one frame at a time, never the whole file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import h5py
import numpy as np

from fer4d.errors import InputFileError
from fer4d.store.folds import Fold


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
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

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

    def frame(self, key: str, t: int) -> np.ndarray:
        """(V, 3) float32, mm: reads one chunk."""
        return self.file["sequences"][key]["vertices"][t]

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
