"""``fer4d bench memory``: the classifier's peak memory and time per training step vs. sequence length.

Reproduces the reference paper's second result (memory for batch 16 at 16…128 frames). Each
point is one training step (forward, backward, optimiser step) on a random batch
``(batch, frames, in_dim)``, timed after a warm-up on a one-frame batch and one untimed
full-size step.

* CUDA: ``torch.cuda.max_memory_allocated`` during the full-size steps minus the memory
  allocated after the one-frame warm-up (model, optimiser state, inputs; reported as
  ``baseline_mb``), in MB.
* CPU (Linux): the peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``
  after the warm-up) minus the resident size at that moment, measured in a fresh process per
  point (forked from one that has imported torch and run nothing) so that earlier points'
  freed-but-resident memory does not hide later ones.

Last line with ``--json``: ``{"benchmark": "memory", "batch", "device", "in_dim",
"points": [{"frames", "peak_mb", "baseline_mb", "ms_per_batch"}]}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch

from fer4d import LABELS
from fer4d.atomic import write_json
from fer4d.device import resolve_device
from fer4d.models.transformer import ExpressionTransformer
from fer4d.options import SectionOptions
from fer4d.train.adam import Adam
from fer4d.train.classifier.options import TransformerOptions

log = logging.getLogger(__name__)
MB = 1024.0 * 1024.0


@dataclass(frozen=True)
class MemoryBenchmarkOptions(SectionOptions):
    """Options of the ``memory_benchmark`` rule (config section ``memory_benchmark``)."""

    SECTION = "memory_benchmark"

    batch: int = 16
    frames: tuple[int, ...] = (16, 32, 64, 128)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", tuple(int(f) for f in self.frames))
        if self.batch < 1 or not self.frames or min(self.frames) < 1:
            raise ValueError(f"need batch >= 1 and frames >= 1, got {self.batch}, {self.frames}")


def reset_peak_rss() -> None:
    """Reset this process's peak resident set size (Linux >= 4.0: ``/proc/self/clear_refs``)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_bytes() -> int:
    """This process's peak resident set size since the last reset (``VmHWM``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


def _training_step(
    model: ExpressionTransformer,
    optimiser: Adam,
    x: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
) -> None:
    loss = torch.nn.functional.cross_entropy(model(x, mask), target)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()


def measure_point(
    frames: int,
    batch: int,
    in_dim: int,
    options: TransformerOptions,
    device: torch.device,
    steps: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Peak memory and mean ms per training step in this process → ``{frames, peak_mb, baseline_mb, ms_per_batch}``.

    On CPU the peak is only meaningful in a fresh process (see :func:`measure_in_subprocess`).
    """
    generator = torch.Generator().manual_seed(seed)
    model = ExpressionTransformer(in_dim, n_classes=len(LABELS), **options.model_kwargs()).to(device)
    optimiser = Adam(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)  # as in training
    x = torch.randn(batch, frames, in_dim, generator=generator).to(device)
    mask = torch.ones(batch, frames, dtype=torch.bool, device=device)
    target = torch.randint(0, len(LABELS), (batch,), generator=generator).to(device)
    # Warm-up on a one-frame batch: allocates the optimiser state and every one-off runtime
    # buffer, so the baseline holds model + optimiser and the peak above it is what the
    # sequence length costs.
    _training_step(model, optimiser, x[:1, :1], mask[:1, :1], target[:1])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        baseline = torch.cuda.memory_allocated(device)
    else:
        reset_peak_rss()
        baseline = psutil.Process().memory_info().rss
    _training_step(model, optimiser, x, mask, target)  # first full-size step, untimed
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        _training_step(model, optimiser, x, mask, target)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = peak_rss_bytes()
    ms = (time.perf_counter() - start) * 1000.0 / steps
    return {
        "frames": frames,
        "peak_mb": round(max(peak - baseline, 0) / MB, 3),
        "baseline_mb": round(baseline / MB, 3),
        "ms_per_batch": round(ms, 3),
    }


def _point_in_child(
    frames: int, batch: int, in_dim: int, options: TransformerOptions, steps: int, threads: int
) -> dict[str, float]:
    torch.set_num_threads(threads)
    return measure_point(frames, batch, in_dim, options, torch.device("cpu"), steps)


def measure_in_subprocess(
    frames: int, batch: int, in_dim: int, options: TransformerOptions, steps: int, threads: int
) -> dict[str, float]:
    """Run :func:`measure_point` on CPU with ``threads`` torch threads in a child process forked
    from this one, so that the point starts from this process's heap, not from an earlier
    point's.

    Forked rather than started afresh: a new interpreter spent ~1.5 s a point importing torch,
    which is imported here once instead. Forking is safe as long as this process has run no
    parallel torch operation (OpenMP's threads do not survive a fork): it only imports. A child
    that dies is a ``RuntimeError`` naming the point.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        try:
            return pool.submit(_point_in_child, frames, batch, in_dim, options, steps, threads).result()
        except BrokenProcessPool as err:  # the child died (out of memory, say): say which point
            raise RuntimeError(f"memory point {frames}: its process died ({err})") from err


def run_memory_benchmark(
    options: MemoryBenchmarkOptions,
    transformer: TransformerOptions,
    in_dim: int = 32,
    device: str = "auto",
    steps: int = 5,
    threads: int = 1,
) -> dict[str, Any]:
    """Measure every sequence length of ``options`` → the benchmark's JSON object.

    ``threads``: torch CPU threads per point (1 gives stable timings on a shared machine).
    """
    torch_device = resolve_device(device)
    points = []
    for frames in options.frames:
        if torch_device.type == "cuda":
            point = measure_point(frames, options.batch, in_dim, transformer, torch_device, steps)
        else:
            point = measure_in_subprocess(frames, options.batch, in_dim, transformer, steps, threads)
        log.info(
            "memory: batch %d, %d frames: %.1f MB above baseline, %.1f ms per batch",
            options.batch,
            frames,
            point["peak_mb"],
            point["ms_per_batch"],
        )
        points.append(point)
    return {
        "benchmark": "memory",
        "batch": options.batch,
        "device": str(torch_device),
        "device_name": torch.cuda.get_device_name(torch_device) if torch_device.type == "cuda" else "cpu",
        "in_dim": in_dim,
        "cpu_threads": threads if torch_device.type == "cpu" else None,
        "transformer": transformer.to_dict(),
        "points": points,
    }


def write_memory_benchmark(
    out_path: str | os.PathLike,
    options: MemoryBenchmarkOptions,
    transformer: TransformerOptions,
    in_dim: int = 32,
    device: str = "auto",
) -> dict:
    """Stage function of the ``memory_benchmark`` rule: run and write the JSON to ``out_path``."""
    result = run_memory_benchmark(options, transformer, in_dim, device)
    write_json(out_path, result)
    return result


def _main(args: argparse.Namespace) -> int:
    options = MemoryBenchmarkOptions(batch=args.batch, frames=tuple(int(f) for f in args.frames.split(",")))
    transformer = TransformerOptions.from_dict(json.loads(args.options)) if args.options else TransformerOptions()
    result = run_memory_benchmark(options, transformer, args.in_dim, args.device, args.steps, args.threads)
    if args.out:
        write_json(args.out, result)
    if not args.json:
        for p in result["points"]:
            print(f"{p['frames']:>5} frames  {p['peak_mb']:9.1f} MB  {p['ms_per_batch']:8.1f} ms/batch")
    print(json.dumps(result) if args.json else f"device {result['device']}, batch {result['batch']}")
    return 0


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=16, help="sequences per batch (default 16)")
    parser.add_argument("--frames", default="16,32,64,128", help="comma-separated sequence lengths")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:i]")
    parser.add_argument("--in-dim", type=int, default=32, help="frame embedding size (default 32)")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per point")
    parser.add_argument("--threads", type=int, default=1, help="CPU: torch threads per point (default 1)")
    parser.add_argument("--options", default="", help="transformer options as JSON (default: defaults)")
    parser.add_argument("--out", default="", help="also write the JSON object to this file")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("memory", help="classifier peak memory and ms/batch vs. sequence length")
    _add_arguments(parser)
    parser.set_defaults(func=_main)
