"""fer4d.store: stage ``store`` — every fit gathered into one HDF5 file with the folds, and the
PyTorch datasets over it. The file format itself is ``fer4d.formats.store``.

Stage function: ``build_store(fit_paths, model_path, out_path, report_path, options, folds, config_hash, seed,
subjects)``. Schema: docs/store-schema.md.
"""

from fer4d.formats.store import Fold, MeshStore, SequenceInfo, sequence_key
from fer4d.store.datasets import FrameDataset
from fer4d.store.folds import fold_count, make_folds
from fer4d.store.options import FoldOptions, StoreOptions
from fer4d.store.writer import build_store

__all__ = [
    "Fold",
    "FoldOptions",
    "FrameDataset",
    "MeshStore",
    "SequenceInfo",
    "StoreOptions",
    "build_store",
    "fold_count",
    "make_folds",
    "sequence_key",
]
