"""``fer4d store inspect FILE``: what a store holds."""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from fer4d.formats.store import MeshStore


def inspect_store(path: str) -> str:
    """A human-readable summary: sequences, labels, subjects, frames, quality, folds."""
    with MeshStore(path) as store:
        keys = store.keys()
        infos = [store.info(k) for k in keys]
        attrs = store.attrs
        lines = [
            f"{path}: {len(keys)} sequences, {sum(i.n_frames for i in infos)} frames, "
            f"{len(store.template_vertices)} vertices, {len(store.template_faces)} faces",
            f"created {attrs.get('created')} by fer4d {attrs.get('fer4d_version')}, config {attrs.get('config_hash')}",
        ]
        labels = Counter(i.label for i in infos)
        lines.append("labels: " + ", ".join(f"{label} {labels[label]}" for label in store.labels))
        subjects = sorted({i.subject for i in infos})
        lines.append(f"subjects ({len(subjects)}): " + " ".join(subjects))
        lengths = [i.n_frames for i in infos]
        lines.append(f"frames per sequence: min {min(lengths)}, median {int(np.median(lengths))}, max {max(lengths)}")
        quality = [store.quality(k) for k in keys]
        for name in ("residual_median_mm", "residual_p90_mm", "v2v_mean_mm"):
            values = np.concatenate([q[name] for q in quality if name in q] or [np.zeros(0)])
            if len(values):
                lines.append(f"{name}: median {np.median(values):.3f}, p95 {np.percentile(values, 95):.3f}")
        flagged = np.concatenate([q["flagged"] for q in quality if "flagged" in q] or [np.zeros(0, bool)])
        if len(flagged):
            lines.append(f"flagged frames: {int(flagged.sum())} of {len(flagged)}")
        for i in range(store.n_folds):
            fold = store.fold(i)
            lines.append(f"fold {i}: train {len(fold.train)}, val {len(fold.val)}, test {len(fold.test)} sequences")
    return "\n".join(lines)


def _inspect(args: argparse.Namespace) -> int:
    print(inspect_store(args.file))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    store = subparsers.add_parser("store", help="the HDF5 mesh-sequence store")
    actions = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    inspect = actions.add_parser("inspect", help="sequences, labels, subjects, frames, quality, folds")
    inspect.add_argument("file")
    inspect.set_defaults(func=_inspect)
