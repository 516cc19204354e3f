"""``fer4d ingest`` (one sequence folder) and ``fer4d scan-info`` (one scan file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fer4d.io.clean import extent, guess_scale_to_mm, units_name
from fer4d.io.ingest import ingest_sequence
from fer4d.io.isolated import IsolatedReader
from fer4d.io.layouts import list_frames
from fer4d.io.options import IngestOptions
from fer4d.labels import LabelOptions


def _ingest(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"fer4d: error: {folder}: not a folder")
        return 2
    label = args.label or LabelOptions().folder_label(folder.name)
    if label is None:
        print(f"fer4d: error: {folder}: cannot tell the expression from the folder name; pass --label")
        return 2
    options = IngestOptions(units=args.units, crop=args.crop, max_points=args.max_points)
    summary = ingest_sequence(
        list_frames(folder, args.extension),
        args.out,
        args.quarantine or Path(args.out).with_suffix(".quarantine.json"),
        args.subject or folder.parent.name,
        label,
        options,
        strict=args.strict,
    )
    print(json.dumps(summary))
    return 0 if summary["status"] == "ok" else 1


def _scan_info(args: argparse.Namespace) -> int:
    with IsolatedReader() as reader:  # a file that crashes the reader is an error, not a crash
        scan = reader.read(args.file)
    finite = scan.vertices[np.isfinite(scan.vertices).all(1)]
    lo, hi = (finite.min(0), finite.max(0)) if len(finite) else (np.full(3, np.nan),) * 2
    info = {
        "file": str(args.file),
        "vertices": len(scan.vertices),
        "faces": len(scan.faces),
        "bbox_min": lo.round(4).tolist(),
        "bbox_max": hi.round(4).tolist(),
        "units_guess": units_name(guess_scale_to_mm(extent(scan.vertices))),
    }
    print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    ingest = subparsers.add_parser("ingest", help="clean one folder of scans into a sequence .h5")
    ingest.add_argument("folder", help="a sequence folder, e.g. BU4DFE/F001/Happy")
    ingest.add_argument("--out", required=True, help="output .h5")
    ingest.add_argument("--quarantine", help="quarantine .json (default: beside --out)")
    ingest.add_argument("--subject", help="default: the parent folder's name")
    ingest.add_argument("--label", help="default: from the folder name (Happy, happiness, HA, ...)")
    ingest.add_argument("--extension", default="wrl")
    ingest.add_argument("--units", default="auto", choices=["auto", "mm", "cm", "m"])
    ingest.add_argument(
        "--crop", default=IngestOptions.crop, choices=["none", "component", "radius", "component+radius"]
    )
    ingest.add_argument("--max-points", type=int, default=IngestOptions.max_points)
    ingest.add_argument("--strict", action="store_true", help="fail on the first bad file")
    ingest.set_defaults(func=_ingest)
    info = subparsers.add_parser("scan-info", help="vertex/face counts, bounding box, units of one scan")
    info.add_argument("file")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_scan_info)
