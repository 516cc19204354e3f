"""``fer4d bench ingest``: read and ingest time per frame for dense BU-4DFE-style ``.wrl`` scans.

Frames are a noisy dome (a face-sized open surface, mm) on a square grid with about
``--vertices`` points, written as textured VRML 2.0 like BU-4DFE's files.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from fer4d.bench.output import emit
from fer4d.io import IngestOptions, ingest_sequence, read_scan
from fer4d.synth.writers import write_scan


def dome_grid(n_vertices: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``vertices (n*n, 3) float32 mm`` (n = ⌈√n_vertices⌉) on a 160 mm dome and ``faces (2(n-1)², 3)``."""
    n = int(np.ceil(np.sqrt(n_vertices)))
    u, v = np.meshgrid(np.linspace(-80, 80, n), np.linspace(-100, 100, n))
    noise = np.random.default_rng(seed).normal(0, 0.2, u.shape)
    vertices = np.stack([u, v, 40 - 0.004 * (u**2 + v**2) + noise], -1).reshape(-1, 3).astype(np.float32)
    corner = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]).ravel()
    faces = np.concatenate(
        [np.stack([corner, corner + 1, corner + n + 1], 1), np.stack([corner, corner + n + 1, corner + n], 1)]
    )
    return vertices, faces.astype(np.int32)


def run_bench(n_vertices: int, n_frames: int, seed: int, options: IngestOptions) -> dict:
    vertices, faces = dome_grid(n_vertices, seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "B001" / "Happy"
        folder.mkdir(parents=True)
        frames = [folder / f"{i:03d}.wrl" for i in range(n_frames)]
        for path in frames:
            write_scan(path, vertices, faces, "mm")
        start = time.perf_counter()
        for path in frames:
            read_scan(path)
        read_s = (time.perf_counter() - start) / n_frames
        start = time.perf_counter()
        summary = ingest_sequence(frames, Path(tmp) / "seq.h5", Path(tmp) / "q.json", "B001", "happiness", options)
        ingest_s = (time.perf_counter() - start) / n_frames
        file_mb = frames[0].stat().st_size / 1e6
    return {
        "bench": "ingest",
        "vertices_per_frame": len(vertices),
        "frames": n_frames,
        "wrl_mb": round(file_mb, 2),
        "read_s_per_frame": round(read_s, 4),
        "ingest_s_per_frame": round(ingest_s, 4),
        "max_points": options.max_points,
        "crop": options.crop,
        "status": summary["status"],
    }


def _main(args: argparse.Namespace) -> int:
    options = IngestOptions(max_points=args.max_points)
    result = run_bench(args.vertices, args.frames, args.seed, options)
    return emit(result, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ingest", help="VRML read and ingest time per frame")
    parser.add_argument("--vertices", type=int, default=30000, help="vertices per frame")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--max-points", type=int, default=IngestOptions.max_points)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.set_defaults(func=_main)
