"""Speed of the FLAME layer: forward and forward+backward time per batch."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from fer4d.device import resolve_device, seed_everything
from fer4d.flame.files import load_flame
from fer4d.flame.layer import FlameLayer
from fer4d.synth.facemodel import make_synthetic_flame


def _median_ms(step, device: torch.device, repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1000.0)
    return sorted(times)[len(times) // 2]


def benchmark_layer(
    n_vertices: int = 5023,
    batch_sizes: tuple[int, ...] = (1, 16, 64),
    n_shape: int = 30,
    n_expr: int = 18,
    device: str = "auto",
    repeats: int = 20,
    seed: int = 0,
    threads: int | None = None,
) -> dict:
    """Median milliseconds of a forward pass and of forward+backward of the synthetic model's
    layer at ``n_vertices``, per batch size; returns a JSON-ready dict. ``threads`` sets
    torch's CPU threads for the run (None: leave as is)."""
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(n_vertices, batch_sizes, n_shape, n_expr, resolve_device(device), repeats, seed)
    finally:
        torch.set_num_threads(previous_threads)


def _run(
    n_vertices: int,
    batch_sizes: tuple[int, ...],
    n_shape: int,
    n_expr: int,
    torch_device: torch.device,
    repeats: int,
    seed: int,
) -> dict:
    seed_everything(seed)
    with tempfile.TemporaryDirectory() as folder:
        model = load_flame(make_synthetic_flame(Path(folder) / "model.pkl", n_vertices, seed))
    layer = FlameLayer(model, n_shape, n_expr).to(torch_device)
    results = []
    for batch in batch_sizes:
        params = [
            torch.randn(batch, n_shape, device=torch_device),
            torch.randn(batch, n_expr, device=torch_device),
            0.1 * torch.randn(batch, 5, 3, device=torch_device),
            torch.randn(batch, 3, device=torch_device),
        ]
        for p in params:
            p.requires_grad_(True)

        def forward(params=params):
            with torch.no_grad():
                layer(*params)

        def forward_backward(params=params):
            layer(*params).vertices.square().mean().backward()

        results.append(
            {
                "batch": batch,
                "forward_ms": round(_median_ms(forward, torch_device, repeats), 3),
                "forward_backward_ms": round(_median_ms(forward_backward, torch_device, repeats), 3),
            }
        )
    return {
        "benchmark": "flame_layer",
        "device": str(torch_device),
        "vertices": model.n_vertices,
        "n_shape": n_shape,
        "n_expr": n_expr,
        "threads": torch.get_num_threads(),
        "results": results,
    }
