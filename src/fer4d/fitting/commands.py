"""``fer4d fit SEQUENCE.h5 --model MODEL --out OUT.h5``."""

from __future__ import annotations

import argparse
import json

from fer4d.fitting.options import FitOptions
from fer4d.fitting.stage import fit_sequence_file


def run(args: argparse.Namespace) -> int:
    options = FitOptions.from_dict(json.loads(args.options) if args.options else None)
    summary = fit_sequence_file(args.sequence, args.model, args.out, options, args.device, args.seed)
    print(json.dumps(summary))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit", help="register FLAME to an ingested scan sequence")
    parser.add_argument("sequence", help="ingested sequence .h5")
    parser.add_argument("--model", required=True, help="FLAME model (.pkl or .npz)")
    parser.add_argument("--out", required=True, help="fit .h5 to write")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--options", default=None, help='fit options as JSON, e.g. \'{"n_expr": 20}\' (config section "fit")'
    )
    parser.set_defaults(func=run)
