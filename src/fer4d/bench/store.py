"""``fer4d bench store``: write and stream a FLAME-resolution store; throughput and peak memory.

Sequences are a synthetic FLAME-format template moved by smooth expression blendshapes, so the
data compresses like real registrations rather than like noise. The read pass runs in a fresh
process (``python -m fer4d.bench.store --read``) so that its peak RSS is not the writer's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fer4d.bench.output import emit
from fer4d.formats.fit import FitSequence
from fer4d.formats.store import StoreWriter
from fer4d.store.options import StoreOptions


def synthetic_sequences(n_frames: int, n_vertices: int, frames_per_sequence: int, seed: int):
    """Yield ``FitSequence``s of ``frames_per_sequence`` frames until ``n_frames`` are made."""
    from fer4d.flame import load_flame
    from fer4d.synth.facemodel import make_synthetic_flame

    with tempfile.TemporaryDirectory() as tmp:
        model = load_flame(make_synthetic_flame(Path(tmp) / "model.pkl", n_vertices=n_vertices, seed=seed))
    rng = np.random.default_rng(seed)
    directions = model.exprdirs[..., :18].astype(np.float32)  # (V, 3, 18)
    made, index = 0, 0
    while made < n_frames:
        t = min(frames_per_sequence, n_frames - made)
        curve = np.sin(np.linspace(0, np.pi, t))[:, None] * rng.uniform(0, 2, size=(1, 18))
        vertices = model.v_template[None] + np.einsum("vck,tk->tvc", directions, curve.astype(np.float32))
        yield FitSequence(
            path=f"bench{index}",
            subject=f"S{index:04d}",
            label="happiness",
            vertices=vertices.astype(np.float32),
            faces=model.faces,
            frame_index=np.arange(t, dtype=np.int32),
            quality={"flagged": np.zeros(t, bool)},
            params={},
        )
        made += t
        index += 1


def write_bench_store(path: Path, n_frames: int, n_vertices: int, options: StoreOptions, seed: int) -> float:
    """Write the store; return seconds spent writing (generation excluded)."""
    spent = 0.0
    with StoreWriter(path, options.compression, options.compression_level) as store:
        for seq in synthetic_sequences(n_frames, n_vertices, 100, seed):
            start = time.perf_counter()
            store.add_sequence(seq, seq.vertices[0])
            spent += time.perf_counter() - start
        store.finish(np.zeros((n_vertices, 3), np.float32), np.zeros((1, 3), np.int32), [], {}, "bench", {})
    return spent


def _memory_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MB, from /proc (Linux).

    Not ``ru_maxrss``: after fork+exec it still holds the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_pass(path: str, batch: int, workers: int) -> dict:
    """A training-style pass: shuffled frames through a DataLoader. Runs in its own process."""
    import torch
    from torch.utils.data import DataLoader

    from fer4d.formats.store import MeshStore
    from fer4d.store.datasets import FrameDataset

    with MeshStore(path) as store:
        keys = store.keys()
    dataset = FrameDataset(path, keys)
    baseline = _memory_mb("VmRSS")
    loader = DataLoader(
        dataset, batch_size=batch, shuffle=True, num_workers=workers, generator=torch.Generator().manual_seed(0)
    )
    start = time.perf_counter()
    checksum = 0.0
    for frames, _ in loader:
        checksum += float(frames[:, 0, 0].sum())
    seconds = time.perf_counter() - start
    return {
        "read_frames_per_s": len(dataset) / seconds,
        "peak_rss_mb": _memory_mb("VmHWM"),
        "baseline_rss_mb": baseline,
        "checksum": checksum,
    }


def run(frames: int, vertices: int, compression: str, batch: int, workers: int, seed: int) -> dict:
    options = StoreOptions(compression=compression)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.h5"
        write_seconds = write_bench_store(path, frames, vertices, options, seed)
        store_mb = path.stat().st_size / 2**20
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "fer4d.bench.store",
                "--read",
                str(path),
                "--batch",
                str(batch),
                "--workers",
                str(workers),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        read = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "benchmark": "store",
        "frames": frames,
        "vertices": vertices,
        "compression": compression,
        "store_mb": round(store_mb, 1),
        "raw_mb": round(frames * vertices * 12 / 2**20, 1),
        "write_frames_per_s": round(frames / write_seconds, 1),
        "read_frames_per_s": round(read["read_frames_per_s"], 1),
        "peak_rss_mb": round(read["peak_rss_mb"], 1),
        "baseline_rss_mb": round(read["baseline_rss_mb"], 1),
        "batch": batch,
        "workers": workers,
    }


def _main(args: argparse.Namespace) -> int:
    result = run(args.frames, args.vertices, args.compression, args.batch, args.workers, args.seed)
    return emit(result, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("store", help="store write/read throughput and streaming peak memory")
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--vertices", type=int, default=5023)
    parser.add_argument("--compression", default="gzip", choices=["gzip", "lzf", "none"])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.set_defaults(func=_main)


if __name__ == "__main__":
    reader = argparse.ArgumentParser()
    reader.add_argument("--read", required=True)
    reader.add_argument("--batch", type=int, default=32)
    reader.add_argument("--workers", type=int, default=0)
    cli = reader.parse_args()
    print(json.dumps(read_pass(cli.read, cli.batch, cli.workers)))
