"""``fer4d bench fit``: speed and accuracy of FLAME registration on a synthetic sequence.

Builds a synthetic FLAME-format model (default 5,023 vertices, FLAME's resolution), simulates
one expression sequence with ``fer4d.synth.simulate_sequence`` (noisy ~30k-point scans with
holes, spikes and stray fragments, random scanner pose and head motion), registers it with
``fer4d.fitting.fit_sequence`` and compares the fit with the ground truth in the scan frame.
The time counts the fit only (the scans are already in memory).

Last line with ``--json``: ``{"benchmark": "fit", "frames", "frames_per_s", "fit_s", "fit_cpu_s",
"v2v_median_mm", "v2v_p95_mm", "v2v_face_median_mm", "residual_median_mm", "vertices",
"scan_points", "noise_mm", "device", "threads"}``. ``v2v_*`` are over every vertex of every
frame, including the back of the head that no scan sees; ``v2v_face_median_mm`` only over
vertices within 2 mm of the first frame's true surface points a scan saw. ``fit_cpu_s``: the
process's CPU seconds over the fit (all threads); on a shared machine whose cores are lent to
other work, it moves less than the wall time when comparing two versions side by side.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

from fer4d.bench.output import emit
from fer4d.device import resolve_device
from fer4d.fitting import FitOptions, fit_sequence
from fer4d.fitting.quality import vertex_errors
from fer4d.flame.files import load_flame
from fer4d.synth.facemodel import make_synthetic_flame
from fer4d.synth.options import SynthOptions
from fer4d.synth.sequence import simulate_sequence

log = logging.getLogger(__name__)


def run_benchmark(
    vertices: int,
    scan_points: int,
    frames: int,
    noise_mm: float,
    device: str,
    seed: int = 0,
    options: FitOptions | None = None,
) -> dict:
    """Simulate, fit and measure one sequence; returns the benchmark's JSON record."""
    with tempfile.TemporaryDirectory() as folder:
        model_path = make_synthetic_flame(Path(folder) / "model.pkl", vertices, seed)
        model = load_flame(model_path)
    synth = SynthOptions(
        scan_points=scan_points,
        noise_mm=noise_mm,
        frames_min=max(8, frames),
        frames_max=max(8, frames),
        model_vertices=vertices,
        seed=seed,
    )
    sequence = simulate_sequence(model, 0, "happiness", frames, synth, np.random.default_rng(seed))
    torch_device = resolve_device(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    result = fit_sequence(sequence.scans, model, options or FitOptions(), str(torch_device), seed)
    if torch_device.type == "cuda":
        torch.cuda.synchronize()
    fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    errors = vertex_errors(result.vertices_scan, sequence.truth.vertices)
    seen = sequence.scans[0][0][sequence.surface_masks[0]]
    near, _ = cKDTree(seen).query(sequence.truth.vertices[0])
    return {
        "benchmark": "fit",
        "frames": frames,
        "frames_per_s": round(frames / fit_s, 3),
        "fit_s": round(fit_s, 3),
        "fit_cpu_s": round(fit_cpu_s, 3),
        "v2v_median_mm": round(float(np.median(errors)), 4),
        "v2v_p95_mm": round(float(np.percentile(errors, 95)), 4),
        "v2v_face_median_mm": round(float(np.median(errors[:, near < 2.0])), 4),
        "residual_median_mm": round(float(np.median(result.quality["residual_median_mm"])), 4),
        "vertices": int(model.n_vertices),
        "scan_points": int(np.mean([len(points) for points, _ in sequence.scans])),
        "noise_mm": noise_mm,
        "device": str(torch_device),
        "threads": torch.get_num_threads(),
    }


def main(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    record = run_benchmark(args.vertices, args.scan_points, args.frames, args.noise_mm, args.device, args.seed)
    return emit(record, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit", help="FLAME registration: frames/s and vertex error")
    parser.add_argument("--vertices", type=int, default=5023, help="model vertices")
    parser.add_argument("--scan-points", type=int, default=30000, help="points per scan")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--noise-mm", type=float, default=0.2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (0: torch's default, one per core); 1 can be "
        "faster on a machine whose cores are busy with other work",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON record")
    parser.set_defaults(func=main)
