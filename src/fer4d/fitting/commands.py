"""``fer4d fit SEQUENCE.h5 --model MODEL --out OUT.h5``: an ingested scan sequence, or a landmark
file of a 2D sequence (stage ``landmarks``); ``fer4d fit A.h5 B.h5 ... --out-dir DIR``: several
ingested scan sequences in one process (as the workflow's per-subject fit jobs), to ``DIR/A.h5``, ...."""

from __future__ import annotations

import argparse
import json

from fer4d.fitting.landmark_stage import fit_landmark_file
from fer4d.fitting.landmarks import LandmarkFitOptions
from fer4d.fitting.options import FitOptions
from fer4d.fitting.stage import fit_sequence_file, fit_sequence_files
from fer4d.formats.landmarks import is_landmark_file


def run(args: argparse.Namespace) -> int:
    options = json.loads(args.options) if args.options else None
    if (args.out is None) == (args.out_dir is None):
        raise SystemExit("fer4d fit: give exactly one of --out (one sequence) and --out-dir")
    if args.out_dir is not None:
        if any(is_landmark_file(path) for path in args.sequence):
            raise SystemExit("fer4d fit: --out-dir takes ingested scan sequences; fit a landmark file with --out")
        summaries = fit_sequence_files(
            args.sequence, args.model, args.out_dir, FitOptions.from_dict(options), args.device, args.seed
        )
    elif len(args.sequence) > 1:
        raise SystemExit("fer4d fit: --out takes one sequence; give several with --out-dir")
    elif is_landmark_file(args.sequence[0]):
        summaries = [fit_landmark_file(args.sequence[0], args.model, args.out, LandmarkFitOptions.from_dict(options))]
    else:
        summaries = [
            fit_sequence_file(
                args.sequence[0], args.model, args.out, FitOptions.from_dict(options), args.device, args.seed
            )
        ]
    for summary in summaries:
        print(json.dumps(summary))
    return 0 if all(summary["status"] == "ok" for summary in summaries) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit", help="register FLAME to an ingested scan sequence or a landmark file")
    parser.add_argument("sequence", nargs="+", help="ingested sequence .h5, or landmark .h5 (fer4d landmarks)")
    parser.add_argument("--model", required=True, help="FLAME model (.pkl or .npz)")
    parser.add_argument("--out", help="fit .h5 to write (one sequence)")
    parser.add_argument("--out-dir", help="folder for the fits of several ingested sequences, named as their inputs")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (scan fits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--options",
        default=None,
        help='fit options as JSON, e.g. \'{"n_expr": 20}\' (config section "fit", or "landmark_fit" for landmarks)',
    )
    parser.set_defaults(func=run)
