"""``fer4d synth``: write a synthetic dataset; ``fer4d synth-render``: picture one sequence."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.formats.groundtruth import read_ground_truth
from fer4d.io.readers import read_scan
from fer4d.synth.layout import FOLDERS
from fer4d.synth.options import FORMATS, UNITS, SynthOptions
from fer4d.synth.render import render_frames
from fer4d.synth.writers import SCAN_SUFFIXES

log = logging.getLogger(__name__)

MODEL_NAME = "flame_synthetic.pkl"
"""File name of the synthetic model that ``fer4d synth`` makes inside the output folder."""


def run_synth(args: argparse.Namespace) -> int:
    from fer4d.synth.dataset import synthesize_dataset
    from fer4d.synth.facemodel import make_synthetic_flame

    changes = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(SynthOptions)
        if getattr(args, field.name) is not None
    }
    options = SynthOptions(**changes)
    out = Path(args.out)
    model = Path(args.model) if args.model else out / MODEL_NAME
    if not args.model:
        make_synthetic_flame(model, n_vertices=options.model_vertices, seed=options.seed)
        log.info("wrote synthetic model %s", model)
    synthesize_dataset(model, out, options, workers=args.workers)
    return 0


def render_sequence(
    dataset_dir: str | os.PathLike,
    subject: str,
    label: str,
    out_path: str | os.PathLike,
    n_frames: int = 4,
    model_faces: np.ndarray | None = None,
) -> Path:
    """Render ``n_frames`` evenly spaced frames of one written sequence (see ``render_frames``);
    scans are read with ``fer4d.io.readers.read_scan``, as ingestion reads them."""
    if label not in FOLDERS:
        raise ValueError(f"unknown label {label!r}; expected one of {sorted(FOLDERS)}")
    folder = Path(dataset_dir) / subject / FOLDERS[label]
    if not folder.is_dir():
        raise InputFileError(folder, "no such sequence folder")
    truth = read_ground_truth(folder / "ground_truth.h5")
    files = sorted(p for p in folder.iterdir() if p.stem.isdigit() and p.suffix in SCAN_SUFFIXES)
    frames = np.unique(np.linspace(0, len(files) - 1, n_frames).round().astype(int))
    scans = {}
    for frame in frames:
        scan = read_scan(files[frame])
        scans[int(frame)] = (scan.vertices, scan.faces)
    return render_frames(scans, truth, out_path, model_faces)


def run_render(args: argparse.Namespace) -> int:
    from fer4d.flame import load_flame

    model = Path(args.model) if args.model else Path(args.dataset) / MODEL_NAME
    faces = load_flame(model).faces if model.is_file() else None
    path = render_sequence(args.dataset, args.subject, args.label, args.out, args.frames, faces)
    print(path)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    synth = subparsers.add_parser(
        "synth", help="write a synthetic 4D expression dataset (BU-4DFE layout, raw scans + ground truth)"
    )
    synth.add_argument("--out", required=True, help="output folder")
    synth.add_argument("--model", help="FLAME-format model (default: make a synthetic one in --out)")
    for field in dataclasses.fields(SynthOptions):  # one flag per option, e.g. --noise-mm
        choices = {"units": UNITS, "format": FORMATS}.get(field.name)
        synth.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=type(field.default),
            choices=choices,
            help=f"default: {field.default}",
        )
    synth.add_argument("--workers", type=int, default=1, help="processes simulating sequences")
    synth.set_defaults(func=run_synth)

    render = subparsers.add_parser(
        "synth-render", help="render a few frames of a synthetic sequence (scan and ground truth) to PNG"
    )
    render.add_argument("dataset", help="folder written by `fer4d synth`")
    render.add_argument("--subject", required=True, help="e.g. F001")
    render.add_argument("--label", required=True, help="canonical label, e.g. happiness")
    render.add_argument("--out", required=True, help="PNG to write")
    render.add_argument("--frames", type=int, default=4, help="number of frames to show")
    render.add_argument(
        "--model", help=f"model whose faces draw the ground truth (default: DATASET/{MODEL_NAME} if present)"
    )
    render.set_defaults(func=run_render)
