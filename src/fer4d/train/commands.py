"""``fer4d predict SEQUENCE_DIR --model RUN_DIR``: label a new raw scan sequence."""

from __future__ import annotations

import argparse
import json


def _predict(args: argparse.Namespace) -> int:
    from fer4d.train.predict import predict_sequence

    result = predict_sequence(args.sequence_dir, args.model, device=args.device, seed=args.seed)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['sequence']}: {result['label']} ({result['n_frames']} frames, {len(result['folds'])} folds)")
    width = max(map(len, result["probabilities"]))
    for label, probability in sorted(result["probabilities"].items(), key=lambda kv: -kv[1]):
        print(f"  {label:<{width}} {probability:6.1%}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="classify a raw scan sequence, or frames or a video of a 2D run, with a trained run",
        description="Ingest and fit (or, for a run on images or videos, detect landmarks and fit), "
        "encode and classify one sequence with every fold's models of a workflow run; prints the "
        "label and fold-averaged probabilities.",
    )
    parser.add_argument(
        "sequence_dir", help="folder with the sequence's scan files (one per frame), or its frames, or a video"
    )
    parser.add_argument("--model", required=True, help="the workflow's results folder (RUN_DIR)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:i]")
    parser.add_argument("--seed", type=int, default=None, help="fitting seed (default: the run's seed)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(func=_predict)
