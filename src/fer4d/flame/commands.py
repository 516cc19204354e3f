"""``fer4d flame synth | info | render | to-npz``."""

from __future__ import annotations

import argparse
import json

import numpy as np

from fer4d.flame.files import guess_scale_to_mm, load_detector_embedding, load_flame
from fer4d.flame.model import save_flame_npz
from fer4d.flame.unpickle import restricted_load, to_numpy
from fer4d.synth.facemodel import make_synthetic_flame


def _synth(args: argparse.Namespace) -> int:
    path = make_synthetic_flame(args.out, n_vertices=args.vertices, seed=args.seed)
    print(path)
    if not args.no_detector_embedding:  # so that `fer4d fit LANDMARKS.h5 --model` works on its own
        from fer4d.landmarks.embedding import write_calibrated_embedding

        print(write_calibrated_embedding(path))
    return 0


def _file_units(path: str) -> str:
    """'m' or 'mm', guessed from the size of the template as stored in the file."""
    if str(path).endswith(".npz"):
        return "mm"
    raw = to_numpy(restricted_load(path)["v_template"])
    return "m" if guess_scale_to_mm(raw) == 1000.0 else "mm"


def describe(path: str) -> dict:
    """Counts and units of a model file, as printed by ``fer4d flame info``."""
    model = load_flame(path)
    nonzero = lambda dirs: int((np.abs(dirs).reshape(-1, dirs.shape[2]).max(axis=0) > 0).sum())
    return {
        "path": str(path),
        "vertices": model.n_vertices,
        "faces": len(model.faces),
        "shape_components": int(model.shapedirs.shape[2]),
        "shape_components_nonzero": nonzero(model.shapedirs),
        "expression_components": int(model.exprdirs.shape[2]),
        "expression_components_nonzero": nonzero(model.exprdirs),
        "file_units": _file_units(path),
        "extent_mm": [round(float(e), 1) for e in np.ptp(model.v_template, axis=0)],
        "landmarks": 0 if model.lmk_face_idx is None else len(model.lmk_face_idx),
    }


def _info(args: argparse.Namespace) -> int:
    print(json.dumps(describe(args.path), indent=2))
    return 0


def _render(args: argparse.Namespace) -> int:
    from fer4d.synth.preview import render_emotions

    print(render_emotions(args.model, args.out))
    return 0


def _to_npz(args: argparse.Namespace) -> int:
    model = load_flame(args.pkl, n_shape_total=args.n_shape_total, landmarks=args.landmarks)
    print(save_flame_npz(model, args.out))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from fer4d.bench.flame import benchmark_layer

    result = benchmark_layer(
        n_vertices=args.vertices,
        batch_sizes=tuple(args.batch),
        n_shape=args.n_shape,
        n_expr=args.n_expr,
        device=args.device,
        repeats=args.repeats,
        threads=args.threads,
    )
    if not args.json:
        for row in result["results"]:
            print(
                f"batch {row['batch']:4d}: forward {row['forward_ms']:.2f} ms, "
                f"forward+backward {row['forward_backward_ms']:.2f} ms"
            )
    print(json.dumps(result))
    return 0


def _embed_detector(args: argparse.Namespace) -> int:
    from fer4d.landmarks.embedding import write_calibrated_embedding

    out = write_calibrated_embedding(args.model, args.out)
    points = len(load_detector_embedding(out)[0])
    print(json.dumps({"model": str(args.model), "embedding": str(out), "points": points}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    flame = subparsers.add_parser("flame", help="FLAME model files and the synthetic model")
    commands = flame.add_subparsers(dest="flame_command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="write the synthetic FLAME-format model (metres)")
    synth.add_argument("--out", required=True, help="model .pkl to write")
    synth.add_argument("--vertices", type=int, default=1500, help="vertex count (FLAME: 5023)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument(
        "--no-detector-embedding",
        action="store_true",
        help="skip <stem>_mediapipe.npz, the face detector's points calibrated on the model (needs mediapipe)",
    )
    synth.set_defaults(func=_synth)

    info = commands.add_parser("info", help="vertex/face/component counts, units, landmarks")
    info.add_argument("path", help="FLAME .pkl or .npz")
    info.set_defaults(func=_info)

    render = commands.add_parser("render", help="PNG of the template and six emotion prototypes")
    render.add_argument("--model", required=True, help="FLAME .pkl or .npz")
    render.add_argument("--out", required=True, help="PNG to write")
    render.set_defaults(func=_render)

    to_npz = commands.add_parser("to-npz", help="convert a FLAME pkl to a fast-loading .npz (mm)")
    to_npz.add_argument("pkl")
    to_npz.add_argument("out")
    to_npz.add_argument("--landmarks", default=None, help="landmark embedding to include")
    to_npz.add_argument(
        "--n-shape-total", type=int, default=300, help="identity columns in shapedirs before the expression ones"
    )
    to_npz.set_defaults(func=_to_npz)

    embed = commands.add_parser(
        "embed-detector", help="calibrate the face detector's points on a model (render, detect, back-project)"
    )
    embed.add_argument("--model", required=True, help="FLAME-format .pkl or .npz (e.g. the synthetic model)")
    embed.add_argument("--out", help="default: <stem>_mediapipe.npz beside the model")
    embed.set_defaults(func=_embed_detector)

    bench = commands.add_parser("bench", help="FLAME layer speed; last line of output is JSON")
    bench.add_argument("--vertices", type=int, default=5023)
    bench.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64])
    bench.add_argument("--n-shape", type=int, default=30)
    bench.add_argument("--n-expr", type=int, default=18)
    bench.add_argument("--repeats", type=int, default=20)
    bench.add_argument("--device", default="auto")
    bench.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    bench.add_argument("--json", action="store_true", help="print only the JSON line")
    bench.set_defaults(func=_bench)
