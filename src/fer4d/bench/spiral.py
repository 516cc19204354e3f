"""``fer4d bench spiral``: training-step throughput of our spiral auto-encoder at FLAME resolution
against two straightforward references of the same architecture with the same weights:

- dense: pooling by dense matrix products, as Neural3DMM (Bouritsas et al. 2019) does;
- sparse loop: one sparse product per mesh of the batch, as a per-sample SpiralNet++-style pool.

Both references use the plain spiral convolution (gather, then one linear layer). Ours pools the
whole batch with one sparse product over a ``(V, B*C)`` layout and, in layers that narrow,
applies the linear blocks before gathering (``SpiralConv.transform_first``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fer4d.device import resolve_device
from fer4d.mesh import HierarchyOptions, build_hierarchy
from fer4d.models.spiral import SpiralAutoencoder, SpiralConv
from fer4d.train.adam import Adam
from fer4d.train.autoencoder import AutoencoderOptions, build_model


class DensePool(nn.Module):
    """``x (B, V_in, C) → (B, V_out, C)`` by a dense ``(V_out, V_in)`` matrix."""

    def __init__(self, operator):
        super().__init__()
        self.register_buffer("operator", torch.as_tensor(operator.toarray()), persistent=False)

    def forward(self, x):
        return torch.matmul(self.operator, x)


class LoopSparsePool(nn.Module):
    """``x (B, V_in, C) → (B, V_out, C)``: one sparse product per mesh."""

    def __init__(self, operator):
        super().__init__()
        coo = operator.tocoo()
        matrix = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape, check_invariants=True)
        self.register_buffer("operator", matrix.coalesce().float(), persistent=False)

    def forward(self, x):
        return torch.stack([torch.sparse.mm(self.operator, sample) for sample in x])


def reference_model(model: SpiralAutoencoder, pool: type, hierarchy) -> SpiralAutoencoder:
    """A copy of ``model`` (same weights) with ``pool`` pooling and plain gather-then-linear convolutions."""
    levels = len(model.filters)
    other = SpiralAutoencoder.from_hierarchy(hierarchy, model.filters, model.latent)
    other.load_state_dict(model.state_dict())
    other.pools = nn.ModuleList(pool(hierarchy.down[l]) for l in range(levels))
    other.unpools = nn.ModuleList(pool(hierarchy.up[l]) for l in reversed(range(levels)))
    for module in other.modules():
        if isinstance(module, SpiralConv):
            module.transform_first = False
    return other


def throughput(model: nn.Module, x: torch.Tensor, steps: int) -> float:
    """Meshes per second of Adam training steps (L1 loss), after one warm-up step."""
    optimiser = Adam(model.parameters(), lr=1e-4)

    def step():
        loss = (model(x) - x).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    step()
    if x.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if x.is_cuda:
        torch.cuda.synchronize()
    return steps * len(x) / (time.perf_counter() - start)


def run(vertices: int, batch: int, steps: int, device: str, seed: int) -> dict:
    from fer4d.flame import load_flame
    from fer4d.synth.facemodel import make_synthetic_flame

    torch_device = resolve_device(device)
    with tempfile.TemporaryDirectory() as tmp:
        model_file = load_flame(make_synthetic_flame(Path(tmp) / "m.pkl", n_vertices=vertices, seed=seed))
    hierarchy = build_hierarchy(model_file.v_template, model_file.faces, HierarchyOptions())
    torch.manual_seed(seed)
    ours = build_model(hierarchy, AutoencoderOptions()).to(torch_device)
    dense = reference_model(ours, DensePool, hierarchy).to(torch_device)
    sparse = reference_model(ours, LoopSparsePool, hierarchy).to(torch_device)
    x = torch.randn(batch, vertices, 3, device=torch_device)
    with torch.no_grad():
        reference = ours(x)
        max_abs_diff = max((dense(x) - reference).abs().max().item(), (sparse(x) - reference).abs().max().item())
    rates = {
        name: throughput(model, x, steps)
        for name, model in (("ours", ours), ("sparse_ref", sparse), ("dense_ref", dense))
    }
    return {
        "benchmark": "spiral",
        "vertices": vertices,
        "levels": hierarchy.sizes,
        "filters": list(ours.filters),
        "latent": ours.latent,
        "batch": batch,
        "steps": steps,
        "device": str(torch_device),
        "threads": torch.get_num_threads(),
        "ours_meshes_per_s": round(rates["ours"], 1),
        "sparse_ref_meshes_per_s": round(rates["sparse_ref"], 1),
        "dense_ref_meshes_per_s": round(rates["dense_ref"], 1),
        "ratio_vs_sparse": round(rates["ours"] / rates["sparse_ref"], 2),
        "ratio_vs_dense": round(rates["ours"] / rates["dense_ref"], 2),
        "max_abs_diff": max_abs_diff,
    }


def _main(args: argparse.Namespace) -> int:
    print(json.dumps(run(args.vertices, args.batch, args.steps, args.device, args.seed)))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("spiral", help="spiral auto-encoder training throughput vs references")
    parser.add_argument("--vertices", type=int, default=5023)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="(the JSON line is always printed last)")
    parser.set_defaults(func=_main)
