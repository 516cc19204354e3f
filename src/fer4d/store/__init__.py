"""fer4d.store: one HDF5 file with every registered sequence, the folds, and datasets over it.

Stage function: ``build_store(fit_paths, out_path, report_path, options, folds, config_hash, seed)``.
Schema: docs/store-schema.md.
"""

from fer4d.store.datasets import FrameDataset, SequenceDataset, VertexStats, collate_sequences
from fer4d.store.folds import Fold, make_folds
from fer4d.store.options import FoldOptions, StoreOptions
from fer4d.store.reader import MeshStore, SequenceInfo
from fer4d.store.writer import build_store, sequence_key

__all__ = [
    "Fold",
    "FoldOptions",
    "FrameDataset",
    "MeshStore",
    "SequenceDataset",
    "SequenceInfo",
    "StoreOptions",
    "VertexStats",
    "build_store",
    "collate_sequences",
    "make_folds",
    "sequence_key",
]
