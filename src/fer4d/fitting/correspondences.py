"""Scan ↔ model correspondences and their robust (Geman–McClure) energy.

A pair ties a model vertex to a point it should lie near and a direction the distance is measured
along. Its squared distance is ``d² = (n·o)² + τ (|o|² − (n·o)²)`` for the offset ``o = v − q``
(τ = 0: point-to-plane), and it costs ``w · ρ(d²)`` with the Geman–McClure penalty
``ρ(s) = s c² / (s + c²)`` (Geman & McClure 1987), which stops growing for pairs much farther
than the scale ``c``, so holes, spikes and stray fragments do not pull the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from scipy.spatial import cKDTree

from fer4d.fitting.options import FitOptions
from fer4d.parallel import thread_map


@dataclass(frozen=True)
class ScanFrame:
    """One scan in the model frame: points (N, 3) float32 mm, normals (N, 3) unit (zero where a
    point is in no triangle), tree: KD-tree over points."""

    points: np.ndarray
    normals: np.ndarray
    tree: cKDTree

    @cached_property
    def has_normal(self) -> np.ndarray:
        """(N,) bool: the points that lie in a triangle (their normal is not zero)."""
        return np.abs(self.normals).sum(axis=1) > 0


@dataclass(frozen=True)
class Pairs:
    """Fixed correspondences for one round, flattened over a batch of B frames of V vertices.

    vertex: (M,) long index into the flattened (B*V) vertices; target: (M, 3) mm point the
    vertex should lie near; normal: (M, 3) unit direction the distance is measured along;
    weight: (M,) per-pair weight (1 / pairs of its frame / B); tangential: τ above.
    """

    vertex: torch.Tensor
    target: torch.Tensor
    normal: torch.Tensor
    weight: torch.Tensor
    tangential: float

    @classmethod
    def build(
        cls, vertex: list, target: list, normal: list, weight: list, tangential: float, device: torch.device
    ) -> Pairs:
        cat = lambda parts, dtype: torch.as_tensor(np.concatenate(parts), dtype=dtype, device=device)
        return cls(
            cat(vertex, torch.long),
            cat(target, torch.float32),
            cat(normal, torch.float32),
            cat(weight, torch.float32),
            tangential,
        )

    def squared_distance(self, flat_vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """flat_vertices (B*V, 3) → offsets o (M, 3) and d² (M,)."""
        offset = flat_vertices[self.vertex] - self.target
        along = (offset * self.normal).sum(-1).square()
        return offset, along + self.tangential * (offset.square().sum(-1) - along)

    def energy(self, flat_vertices: torch.Tensor, scale: float) -> torch.Tensor:
        """Σ w · ρ(d²) with Geman–McClure scale ``scale`` (mm); flat_vertices: (B*V, 3)."""
        _, squared = self.squared_distance(flat_vertices)
        return (self.weight * squared * scale**2 / (squared + scale**2)).sum()

    def normal_terms(
        self, flat_vertices: torch.Tensor, scale: float, slots: torch.Tensor, n_slots: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-vertex Gauss–Newton terms of the energy, re-weighted (IRLS) at the current fit.

        With ``ω = 2 w ρ'(d²)`` and ``A = τ I + (1 − τ) n nᵀ`` (so ``d² = oᵀ A o``), returns
        the gradient (B*V, 3) = Σ ω A o over each vertex's pairs (the energy's exact gradient
        with respect to the vertices) and the Hessian of its IRLS majoriser, Σ ω A (Geman–McClure
        is concave in d², so the majoriser bounds it from above), only where it is needed:
        summed into (n_slots, 3, 3) at ``slots`` (B*V,) long, the slot of each flattened vertex
        (−1: none).
        """
        offset, squared = self.squared_distance(flat_vertices)
        omega = 2.0 * self.weight * scale**4 / (squared + scale**2).square()  # (M,)
        tau = self.tangential
        along = (offset * self.normal).sum(-1, keepdim=True)
        gradient = omega[:, None] * (tau * offset + (1.0 - tau) * along * self.normal)
        slot = slots[self.vertex]
        kept = slot >= 0
        normal, omega = self.normal[kept], omega[kept]
        outer = normal[:, :, None] * normal[:, None, :]
        eye = torch.eye(3, dtype=outer.dtype, device=outer.device)
        hessian = omega[:, None, None] * (tau * eye + (1.0 - tau) * outer)
        return (
            hessian.new_zeros(n_slots, 3, 3).index_add_(0, slot[kept], hessian),
            gradient.new_zeros(flat_vertices.shape[0], 3).index_add_(0, self.vertex, gradient),
        )


def robust_scales(options: FitOptions) -> np.ndarray:
    """Geman–McClure scale (mm) per correspondence round: geometric from
    ``robust_scale_start_mm`` down to ``robust_scale_mm`` (graduated non-convexity, Blake &
    Zisserman 1987; as in Zhou et al. 2016, "Fast Global Registration"), so that parts far
    from the scan at the start (an open jaw) still pull, and outliers stop pulling at the end."""
    rounds = sum(options.stage_rounds)
    return np.geomspace(max(options.robust_scale_start_mm, options.robust_scale_mm), options.robust_scale_mm, rounds)


def find_pairs(
    vertices: np.ndarray,
    normals: np.ndarray,
    frames: list[ScanFrame],
    subsets: list[np.ndarray],
    scale: float,
    options: FitOptions,
    device: torch.device,
    vertex_stride: int = 1,
) -> tuple[Pairs, Pairs]:
    """Nearest-neighbour correspondences for the current fit.

    vertices, normals: (B, V, 3) current model; subsets: per frame, indices of the scan points
    used in this stage. Scan → model pairs measure along the model normal (point-to-plane);
    every ``vertex_stride``-th model vertex pairs with its nearest scan point within
    ``max(model_to_scan_max_mm, scale)`` (none over holes, none whose normal disagrees with the
    vertex's: ``normal_compatibility``) and measures along the scan normal, plus
    ``tangential_weight`` times the tangential offset. Frames run on parallel threads (the
    KD-tree searches release the GIL). Returns (scan → model pairs, model → scan pairs).
    """
    n_frames, n_vertices = vertices.shape[:2]
    reach = max(options.model_to_scan_max_mm, scale)
    queried = np.arange(0, n_vertices, vertex_stride)

    def frame_pairs(b: int) -> tuple[tuple, tuple]:
        frame, points = frames[b], frames[b].points[subsets[b]]
        # a tree built once and queried once: an unbalanced, uncompacted build is ~2x faster
        _, nearest = cKDTree(vertices[b], balanced_tree=False, compact_nodes=False).query(points)
        scan_side = (
            b * n_vertices + nearest,
            points,
            normals[b, nearest],
            np.full(len(points), 1.0 / (len(points) * n_frames)),
        )
        distance, partner = frame.tree.query(vertices[b, queried], distance_upper_bound=reach)
        has = np.isfinite(distance)
        has[has] = frame.has_normal[partner[has]]
        agreement = (frame.normals[partner[has]] * normals[b, queried[has]]).sum(axis=1)
        has[has] = agreement >= options.normal_compatibility
        weight = options.model_to_scan_weight / (max(int(has.sum()), 1) * n_frames)
        model_side = (
            b * n_vertices + queried[has],
            frame.points[partner[has]],
            frame.normals[partner[has]],
            np.full(int(has.sum()), weight),
        )
        return scan_side, model_side

    scan_side, model_side = zip(*thread_map(frame_pairs, range(n_frames)))
    return (
        Pairs.build(*zip(*scan_side), tangential=0.0, device=device),
        Pairs.build(*zip(*model_side), tangential=options.tangential_weight, device=device),
    )
