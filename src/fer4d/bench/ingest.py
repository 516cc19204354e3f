"""``fer4d bench ingest``: read and ingest time per frame for dense BU-4DFE-style ``.wrl`` scans.

The vectorised VRML reader and VTK's importer read the same files in one run (after checking
they agree); the last line's ``speedup`` is VTK's CPU time over ours.

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
from fer4d.io.ingest import ingest_sequence
from fer4d.io.options import IngestOptions
from fer4d.io.readers import read_scan
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


def _read_seconds(frames: list[Path], use_vtk: bool) -> float:
    """CPU seconds per frame to read ``frames`` (process time: what load from other jobs inflates least)."""
    start = time.process_time()
    for path in frames:
        read_scan(path, use_vtk=use_vtk)
    return (time.process_time() - start) / len(frames)


def compare_readers(frames: list[Path], repeats: int) -> dict:
    """Our VRML reader and VTK's importer on the same files, alternating, best of ``repeats`` each.

    Also checks that both give the same vertices and faces on every file.
    """
    for path in frames:
        ours, vtk = read_scan(path), read_scan(path, use_vtk=True)
        if not (np.array_equal(ours.vertices, vtk.vertices) and np.array_equal(ours.faces, vtk.faces)):
            raise AssertionError(f"{path}: the vectorised reader and VTK disagree")
    ours_s = min(_read_seconds(frames, use_vtk=False) for _ in range(repeats))
    vtk_s = min(_read_seconds(frames, use_vtk=True) for _ in range(repeats))
    return {
        "ours_s_per_frame": float(f"{ours_s:.4g}"),
        "vtk_s_per_frame": float(f"{vtk_s:.4g}"),
        "speedup": round(vtk_s / ours_s, 2),
    }


def run_bench(n_vertices: int, n_frames: int, seed: int, options: IngestOptions, repeats: int = 3) -> dict:
    vertices, faces = dome_grid(n_vertices, seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "B001" / "Happy"
        folder.mkdir(parents=True)
        frames = [folder / f"{i:03d}.wrl" for i in range(n_frames)]
        for path in frames:
            write_scan(path, vertices, faces, "mm")
        readers = compare_readers(frames, repeats)
        start = time.process_time()
        summary = ingest_sequence(frames, Path(tmp) / "seq.h5", Path(tmp) / "q.json", "B001", "happiness", options)
        ingest_s = (time.process_time() - start) / n_frames
        file_mb = frames[0].stat().st_size / 1e6
    return {
        "bench": "ingest",
        "vertices_per_frame": len(vertices),
        "frames": n_frames,
        "wrl_mb": round(file_mb, 2),
        "timer": "process_time",
        "ingest_s_per_frame": round(ingest_s, 4),
        "max_points": options.max_points,
        "crop": options.crop,
        "status": summary["status"],
        **readers,
    }


def _main(args: argparse.Namespace) -> int:
    options = IngestOptions(max_points=args.max_points)
    result = run_bench(args.vertices, args.frames, args.seed, options, args.repeats)
    return emit(result, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ingest", help="VRML read (ours vs VTK) and ingest time per frame")
    parser.add_argument("--vertices", type=int, default=30000, help="vertices per frame")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--max-points", type=int, default=IngestOptions.max_points)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="reads of every file per reader (best kept)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.set_defaults(func=_main)
