"""``fer4d landmarks SOURCE --out L.h5``: face landmarks of one image folder or video."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fer4d.labels import LabelOptions
from fer4d.landmarks.options import LandmarkOptions
from fer4d.landmarks.stage import detect_sequence


def _landmarks(args: argparse.Namespace) -> int:
    source = Path(args.source)
    name = source.name if source.is_dir() else source.stem
    label = args.label or LabelOptions().folder_label(name) or name
    options = LandmarkOptions(iris=not args.no_iris, tracking=not args.no_tracking, min_frames=args.min_frames)
    summary = detect_sequence(
        source,
        args.out,
        args.quarantine or Path(args.out).with_suffix(".quarantine.json"),
        args.subject or source.parent.name,
        label,
        options,
        strict=args.strict,
    )
    print(json.dumps(summary))
    return 0 if summary["status"] == "ok" else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("landmarks", help="face landmarks of an image folder or a video → .h5")
    parser.add_argument("source", help="a folder of frames (jpg, png, bmp) or a video (mp4, avi, mov, mkv)")
    parser.add_argument("--out", required=True, help="output landmark .h5")
    parser.add_argument("--quarantine", help="quarantine .json (default: beside --out)")
    parser.add_argument("--subject", help="default: the parent folder's name")
    parser.add_argument("--label", help="default: from the folder (or video) name, else that name")
    parser.add_argument("--no-iris", action="store_true", help="468 points, without the iris refinement")
    parser.add_argument("--no-tracking", action="store_true", help="detect every frame on its own")
    parser.add_argument("--min-frames", type=int, default=LandmarkOptions.min_frames)
    parser.add_argument("--strict", action="store_true", help="fail on the first bad frame")
    parser.set_defaults(func=_landmarks)
