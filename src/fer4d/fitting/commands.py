"""``fer4d fit SEQUENCE.h5 --model MODEL --out OUT.h5``: an ingested scan sequence, or a landmark
file of a 2D sequence (stage ``landmarks``)."""

from __future__ import annotations

import argparse
import json

from fer4d.fitting.landmark_stage import fit_landmark_file
from fer4d.fitting.landmarks import LandmarkFitOptions
from fer4d.fitting.options import FitOptions
from fer4d.fitting.stage import fit_sequence_file
from fer4d.formats.landmarks import is_landmark_file


def run(args: argparse.Namespace) -> int:
    options = json.loads(args.options) if args.options else None
    if is_landmark_file(args.sequence):
        summary = fit_landmark_file(args.sequence, args.model, args.out, LandmarkFitOptions.from_dict(options))
    else:
        summary = fit_sequence_file(
            args.sequence, args.model, args.out, FitOptions.from_dict(options), args.device, args.seed
        )
    print(json.dumps(summary))
    return 0 if summary["status"] == "ok" else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit", help="register FLAME to an ingested scan sequence or a landmark file")
    parser.add_argument("sequence", help="ingested sequence .h5, or landmark .h5 (fer4d landmarks)")
    parser.add_argument("--model", required=True, help="FLAME model (.pkl or .npz)")
    parser.add_argument("--out", required=True, help="fit .h5 to write")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (scan fits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--options",
        default=None,
        help='fit options as JSON, e.g. \'{"n_expr": 20}\' (config section "fit", or "landmark_fit" for landmarks)',
    )
    parser.set_defaults(func=run)
