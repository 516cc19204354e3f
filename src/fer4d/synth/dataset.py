"""The ``synthesize`` stage: write a whole synthetic dataset in the BU-4DFE layout."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fer4d import LABELS
from fer4d.atomic import write_json
from fer4d.flame import load_flame
from fer4d.progress import progress
from fer4d.synth.face import build_face_rig
from fer4d.synth.groundtruth import write_ground_truth
from fer4d.synth.layout import STREAM_SEQUENCE, plan_sequences, stream_rng
from fer4d.synth.options import SynthOptions
from fer4d.synth.sequence import SyntheticSequence, simulate_sequence
from fer4d.synth.writers import write_scan

log = logging.getLogger(__name__)


def write_sequence(folder: str | os.PathLike, sequence: SyntheticSequence, extension: str) -> None:
    """Write ``{folder}/{000..N}.{extension}`` and ``{folder}/ground_truth.h5``, each atomically."""
    folder = Path(folder)
    for index, (vertices, faces) in enumerate(sequence.scans):
        write_scan(folder / f"{index:03d}.{extension}", vertices, faces, sequence.truth.units)
    write_ground_truth(folder / "ground_truth.h5", sequence.truth)


def synthesize_dataset(
    model_path: str | os.PathLike, out_dir: str | os.PathLike, options: SynthOptions
) -> list[dict]:
    """Simulate every sequence of ``synthetic_sequences(options)`` and write it under ``out_dir``.

    Layout: ``{out_dir}/{subject}/{Folder}/{000..N}.{format}`` + ``ground_truth.h5`` per
    sequence, and ``{out_dir}/manifest.json`` listing ``{subject, label, folder, frames}``
    (returned too). Deterministic for ``options.seed``; each sequence has its own random stream,
    so its content does not depend on which other sequences are generated.
    """
    out_dir = Path(out_dir)
    rig = build_face_rig(load_flame(model_path))
    manifest = []
    plan = plan_sequences(options)
    for item in progress(plan, desc="synthesize sequences", logger=log):
        rng = stream_rng(options.seed, STREAM_SEQUENCE, item.subject_index, LABELS.index(item.label))
        sequence = simulate_sequence(rig, item.subject_index, item.label, item.n_frames, options, rng)
        write_sequence(out_dir / item.subject / item.folder, sequence, options.format)
        manifest.append(
            {"subject": item.subject, "label": item.label, "folder": item.folder, "frames": item.n_frames}
        )
    write_json(out_dir / "manifest.json", manifest)
    log.info("wrote %d sequences to %s", len(manifest), out_dir)
    return manifest
