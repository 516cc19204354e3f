"""The auto-encoder's reconstruction error in millimetres, over the whole mesh and per region.

Per region (``all`` vertices, then the store's ``mouth``, ``eyes``, ``brows``), averaged over
frames of the mean over the region's vertices:

- ``error_mm``: Euclidean distance between the reconstructed and the registered mesh, the
  figure CoMA (Ranjan et al., ECCV 2018), Neural3DMM (Bouritsas et al., ICCV 2019) and
  SpiralNet++ (Gong et al., ICCV-W 2019) report. It is also the error of the expression
  displacement (reconstruction minus neutral mesh against frame minus neutral mesh): the
  neutral mesh is the same on both sides, so the two agree to the last digit whichever
  ``input`` the model was trained on;
- ``l1_mm``: mean absolute coordinate error;
- ``expression_mm``: size of the expression displacement itself (frame minus its neutral mesh),
  i.e. the error of reconstructing every frame as its subject's neutral face;
- ``relative``: ``error_mm / expression_mm``, the share of the expression not reconstructed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from fer4d.models.spiral import SpiralAutoencoder
from fer4d.train.inputs import InputTransform

MEASURES = ("error_mm", "l1_mm", "expression_mm")


@torch.no_grad()
def reconstruction_errors(
    model: SpiralAutoencoder,
    loader: DataLoader,
    neutrals: torch.Tensor,
    transform: InputTransform,
    regions: dict[str, np.ndarray],
    device: torch.device,
) -> dict[str, dict[str, float]]:
    """``{region: {error_mm, l1_mm, expression_mm, relative}}`` over every frame of ``loader``
    (items ``(vertices (B, V, 3) mm, sequence position (B,))``, ``neutrals (S, V, 3)`` mm on
    ``device``); ``regions``: name → ``(V,)`` bool, ``all`` is added first."""
    model.eval()
    masks = {"all": None, **{name: torch.as_tensor(mask, device=device) for name, mask in regions.items()}}
    sums = {name: dict.fromkeys(MEASURES, 0.0) for name in masks}
    count = 0
    for vertices, positions in loader:
        vertices, neutral = vertices.to(device), neutrals[positions.to(device)]
        rebuilt = transform.decode(model(transform.encode(vertices, neutral)), neutral)
        per_vertex = {
            "error_mm": (rebuilt - vertices).norm(dim=-1),
            "l1_mm": (rebuilt - vertices).abs().mean(-1),
            "expression_mm": (vertices - neutral).norm(dim=-1),
        }  # each (B, V)
        for name, mask in masks.items():
            for measure, values in per_vertex.items():
                sums[name][measure] += (values if mask is None else values[:, mask]).mean(-1).sum().item()
        count += len(vertices)
    result = {}
    for name, total in sums.items():
        means = {measure: value / max(count, 1) for measure, value in total.items()}
        means["relative"] = means["error_mm"] / means["expression_mm"] if means["expression_mm"] > 0 else None
        result[name] = means  # relative: None when nothing moved
    return result
