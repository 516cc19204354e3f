"""The ``synthesize`` stage: write a whole synthetic dataset, scans in the BU-4DFE layout or
filmed frames in MUG's (``{subject}/{emotion}/take000/img_0001.jpg``)."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fer4d import LABELS
from fer4d.atomic import write_json
from fer4d.flame import load_flame
from fer4d.formats.groundtruth import write_ground_truth
from fer4d.progress import progress
from fer4d.synth.face import FaceRig, build_face_rig
from fer4d.synth.layout import STREAM_SEQUENCE, PlannedSequence, plan_sequences, stream_rng
from fer4d.synth.options import SynthOptions
from fer4d.synth.sequence import SyntheticSequence, film_sequence, simulate_sequence
from fer4d.synth.video import IMAGE_FORMATS, write_frames
from fer4d.synth.writers import write_scan

log = logging.getLogger(__name__)


def write_sequence(folder: str | os.PathLike, sequence: SyntheticSequence, extension: str) -> None:
    """Write ``{folder}/{000..N}.{extension}`` and ``{folder}/ground_truth.h5``, each atomically."""
    folder = Path(folder)
    for index, (vertices, faces) in enumerate(sequence.scans):
        write_scan(folder / f"{index:03d}.{extension}", vertices, faces, sequence.truth.units)
    write_ground_truth(folder / "ground_truth.h5", sequence.truth)


_worker_rig: FaceRig | None = None


def _load_rig(model_path: str) -> None:
    """Process-pool initializer: build the face rig once per worker."""
    global _worker_rig
    _worker_rig = build_face_rig(load_flame(model_path))


def _synthesize_one(item: PlannedSequence, out_dir: Path, options: SynthOptions) -> dict:
    """Simulate and write one planned sequence with its own random stream (scanned, or filmed
    when ``options.format`` is an image format); its manifest entry."""
    rng = stream_rng(options.seed, STREAM_SEQUENCE, item.subject_index, LABELS.index(item.label))
    folder = out_dir / item.subject / item.folder
    if options.format in IMAGE_FORMATS:
        frames, truth = film_sequence(_worker_rig, item.subject_index, item.label, item.n_frames, options, rng)
        write_frames(folder, frames, options.format)
        write_ground_truth(folder / "ground_truth.h5", truth)
    else:
        sequence = simulate_sequence(_worker_rig, item.subject_index, item.label, item.n_frames, options, rng)
        write_sequence(folder, sequence, options.format)
    return {"subject": item.subject, "label": item.label, "folder": item.folder, "frames": item.n_frames}


def synthesize_dataset(
    model_path: str | os.PathLike, out_dir: str | os.PathLike, options: SynthOptions, workers: int = 1
) -> list[dict]:
    """Simulate every sequence of ``synthetic_sequences(options)`` and write it under ``out_dir``.

    Layout: ``{out_dir}/{subject}/{Folder}/{000..N}.{format}`` + ``ground_truth.h5`` per
    sequence, and ``{out_dir}/manifest.json`` listing ``{subject, label, folder, frames}``
    (returned too). Deterministic for ``options.seed`` whatever ``workers`` is: each sequence
    has its own random stream. ``workers > 1`` simulates sequences in that many processes.
    """
    out_dir = Path(out_dir)
    plan = plan_sequences(options)
    work = functools.partial(_synthesize_one, out_dir=out_dir, options=options)
    if workers > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, context, _load_rig, (str(model_path),)) as pool:
            results = pool.map(work, plan)
            manifest = list(progress(results, "synthesize sequences", len(plan), log))
    else:
        _load_rig(str(model_path))
        manifest = [work(item) for item in progress(plan, "synthesize sequences", logger=log)]
    write_json(out_dir / "manifest.json", manifest)
    log.info("wrote %d sequences to %s", len(manifest), out_dir)
    return manifest
