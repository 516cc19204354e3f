"""Non-rigid FLAME fitting of a batch of frames with one shared identity.

Unknowns: the identity ``shape`` (shared), and per frame ``expression``, ``pose`` (global, neck,
jaw, eyes; axis-angle) and ``translation``. Energy (per frame, averaged over the batch):

* scan → model: Geman–McClure-robust (Geman & McClure 1987) point-to-plane distance of each scan
  point to its nearest model vertex, along that vertex's normal;
* model → scan: the same penalty for each model vertex whose nearest scan point lies within
  ``max(model_to_scan_max_mm, current scale)``, along the scan normal plus ``tangential_weight``
  times the tangential offset (which keeps vertices from sliding along a smooth surface);
  vertices over holes have no partner, so holes do not pull the fit;
* L2 priors on shape, expression and the non-global joints, and a first-difference temporal
  smoothness on expression, pose and translation.

Correspondences are refreshed ``stage_rounds`` times per coarse-to-fine stage (scan subsets of
``stage_points`` points), each refresh followed by ``lbfgs_iterations`` of L-BFGS (Nocedal 1980)
with them fixed; the Geman–McClure scale shrinks from ``robust_scale_start_mm`` to
``robust_scale_mm`` over the rounds, the first ``pose_only_rounds`` move only pose and
translation, and blendshape coefficients are optimised in whitened units (1 unit = 1 mm RMS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from fer4d.fitting.geometry import vertex_normals
from fer4d.fitting.options import FitOptions
from fer4d.flame.layer import FlameLayer

POSE_SCALE = 100.0
"""Pose is optimised as ``pose * POSE_SCALE`` (≈ mm of motion at head size per unit), so that all
unknowns have similar scales for L-BFGS."""


@dataclass(frozen=True)
class ScanFrame:
    """One scan in the model frame: points (N, 3) float32 mm, normals (N, 3) unit (zero where a
    point is in no triangle), tree: KD-tree over points."""

    points: np.ndarray
    normals: np.ndarray
    tree: cKDTree


@dataclass
class SequenceParams:
    """FLAME parameters of T frames: shape (n_shape,), expression (T, n_expr),
    pose (T, 5, 3) axis-angle rad, translation (T, 3) mm."""

    shape: np.ndarray
    expression: np.ndarray
    pose: np.ndarray
    translation: np.ndarray

    @classmethod
    def zeros(cls, n_frames: int, n_shape: int, n_expr: int) -> SequenceParams:
        return cls(np.zeros(n_shape, np.float32), np.zeros((n_frames, n_expr), np.float32),
                   np.zeros((n_frames, 5, 3), np.float32), np.zeros((n_frames, 3), np.float32))


@dataclass(frozen=True)
class Pairs:
    """Fixed correspondences for one L-BFGS round, flattened over the batch.

    vertex: (M,) long index into the flattened (B*V) vertices; target: (M, 3) mm point the
    vertex should lie near; normal: (M, 3) direction the distance is measured along;
    weight: (M,) per-pair weight (1 / pairs of its frame / B).
    """

    vertex: torch.Tensor
    target: torch.Tensor
    normal: torch.Tensor
    weight: torch.Tensor

    @classmethod
    def build(cls, vertex: list, target: list, normal: list, weight: list,
              device: torch.device) -> Pairs:
        cat = lambda parts, dtype: torch.as_tensor(np.concatenate(parts), dtype=dtype, device=device)
        return cls(cat(vertex, torch.long), cat(target, torch.float32),
                   cat(normal, torch.float32), cat(weight, torch.float32))

    def energy(self, flat_vertices: torch.Tensor, scale: float, tangential: float) -> torch.Tensor:
        """Σ weight · GM(d), d² = (normal distance)² + tangential · (tangential distance)²;
        flat_vertices: (B*V, 3)."""
        offset = flat_vertices[self.vertex] - self.target
        along = (offset * self.normal).sum(-1).square()
        squared = along + tangential * (offset.square().sum(-1) - along)
        return (self.weight * squared * scale**2 / (squared + scale**2)).sum()


def robust_scales(options: FitOptions) -> np.ndarray:
    """Geman–McClure scale (mm) per correspondence round: geometric from
    ``robust_scale_start_mm`` down to ``robust_scale_mm`` (graduated non-convexity, Blake &
    Zisserman 1987; as in Zhou et al. 2016, "Fast Global Registration"), so that parts far
    from the scan at the start (an open jaw) still pull, and outliers stop pulling at the end."""
    rounds = sum(options.stage_rounds)
    return np.geomspace(max(options.robust_scale_start_mm, options.robust_scale_mm),
                        options.robust_scale_mm, rounds)


def find_pairs(vertices: np.ndarray, normals: np.ndarray, frames: list[ScanFrame],
               subsets: list[np.ndarray], scale: float, options: FitOptions,
               device: torch.device) -> tuple[Pairs, Pairs]:
    """Nearest-neighbour correspondences for the current fit.

    vertices, normals: (B, V, 3) current model; subsets: per frame, indices of the scan points
    used in this stage; model vertices pair with a scan point within
    ``max(model_to_scan_max_mm, scale)``. Returns (scan → model pairs, model → scan pairs).
    """
    n_frames, n_vertices = vertices.shape[:2]
    scan_side: tuple[list, list, list, list] = ([], [], [], [])
    model_side: tuple[list, list, list, list] = ([], [], [], [])
    for b, (frame, subset) in enumerate(zip(frames, subsets)):
        points = frame.points[subset]
        _, nearest = cKDTree(vertices[b]).query(points)
        for part, value in zip(scan_side, (b * n_vertices + nearest, points, normals[b, nearest],
                                           np.full(len(points), 1.0 / (len(points) * n_frames)))):
            part.append(value)
        distance, partner = frame.tree.query(vertices[b], distance_upper_bound=max(options.model_to_scan_max_mm, scale))
        has = np.isfinite(distance)
        has[has] = np.abs(frame.normals[partner[has]]).sum(axis=1) > 0
        weight = options.model_to_scan_weight / (max(int(has.sum()), 1) * n_frames)
        for part, value in zip(model_side, (b * n_vertices + np.flatnonzero(has), frame.points[partner[has]],
                                            frame.normals[partner[has]], np.full(int(has.sum()), weight))):
            part.append(value)
    return Pairs.build(*scan_side, device=device), Pairs.build(*model_side, device=device)


def coefficient_units(layer: FlameLayer) -> torch.Tensor:
    """(n_shape + n_expr,) coefficient change that moves the vertices by 1 mm RMS, per blendshape
    (1 for empty ones). Optimising coefficients in these units whitens the problem for L-BFGS:
    FLAME's components differ in size by orders of magnitude."""
    n_shape, n_expr = layer.n_shape, layer.n_expr
    with torch.no_grad():
        unit = torch.eye(n_shape + n_expr, device=layer.v_template.device)
        moved = layer(unit[:, :n_shape], unit[:, n_shape:]).vertices - layer(batch_size=1).vertices
    rms = moved.square().sum(-1).mean(-1).sqrt()  # mm per unit coefficient
    return torch.where(rms > 1e-9, 1.0 / rms.clamp_min(1e-9), torch.ones_like(rms))


class FrameBatchFit:
    """The unknowns of one batch of frames as torch leaves, and the energy over them."""

    def __init__(self, layer: FlameLayer, init: SequenceParams, fit_shape: bool, options: FitOptions,
                 device: torch.device):
        leaf = lambda array, grad: torch.tensor(array, dtype=torch.float32, device=device,
                                                requires_grad=grad)
        self.layer, self.options = layer, options
        unit = coefficient_units(layer)
        self.shape_unit, self.expression_unit = unit[: layer.n_shape], unit[layer.n_shape:]
        self.shape_z = leaf(init.shape[None] / self.shape_unit.cpu().numpy(), fit_shape)
        self.expression_z = leaf(init.expression / self.expression_unit.cpu().numpy(), True)
        self.pose = leaf(init.pose * POSE_SCALE, True)
        self.translation = leaf(init.translation, True)
        joint_mask = torch.zeros(5, 1, device=device)
        joint_mask[list(options.pose_joints)] = 1.0
        self.joint_mask = joint_mask

    @property
    def shape(self) -> torch.Tensor:
        """(1, n_shape) identity coefficients."""
        return self.shape_z * self.shape_unit

    @property
    def expression(self) -> torch.Tensor:
        """(B, n_expr) expression coefficients."""
        return self.expression_z * self.expression_unit

    def unknowns(self, pose_only: bool) -> list[torch.Tensor]:
        """The leaves to optimise: pose and translation, plus shape and expression unless
        ``pose_only``."""
        leaves = [self.pose, self.translation] if pose_only else [
            self.shape_z, self.expression_z, self.pose, self.translation]
        return [leaf for leaf in leaves if leaf.requires_grad]

    def vertices(self) -> torch.Tensor:
        """(B, V, 3) mm in the model frame."""
        n = self.expression.shape[0]
        return self.layer(self.shape.expand(n, -1), self.expression, self.scaled_pose() / POSE_SCALE,
                          self.translation).vertices

    def scaled_pose(self) -> torch.Tensor:
        """(B, 5, 3) pose × POSE_SCALE with the joints not in ``pose_joints`` held at their start."""
        return self.pose * self.joint_mask + (self.pose * (1 - self.joint_mask)).detach()

    def energy(self, scan_pairs: Pairs, model_pairs: Pairs, scale: float) -> torch.Tensor:
        """Total energy with the Geman–McClure ``scale`` (mm) of this round."""
        o = self.options
        flat = self.vertices().reshape(-1, 3)
        data = (scan_pairs.energy(flat, scale, 0.0)
                + model_pairs.energy(flat, scale, o.tangential_weight))
        pose = self.scaled_pose() / POSE_SCALE
        prior = (o.shape_prior * self.shape.square().sum()
                 + o.expression_prior * self.expression.square().sum(1).mean()
                 + o.pose_prior * pose[:, 1:].square().sum((1, 2)).mean())
        if self.expression.shape[0] < 2:
            return data + prior
        steps = [torch.diff(x, dim=0).square().flatten(1).sum(1)
                 for x in (self.expression, self.scaled_pose(), self.translation)]
        return data + prior + o.smoothness * sum(steps).mean()

    def result(self) -> SequenceParams:
        as_np = lambda t: t.detach().cpu().numpy().astype(np.float32)
        return SequenceParams(as_np(self.shape)[0], as_np(self.expression),
                              as_np(self.pose) / POSE_SCALE, as_np(self.translation))


def fit_batch(layer: FlameLayer, frames: list[ScanFrame], init: SequenceParams, fit_shape: bool,
              options: FitOptions, device: torch.device, rng: np.random.Generator) -> SequenceParams:
    """Fit the frames of one batch (len(frames) == T of ``init``) and return their parameters.

    One L-BFGS optimiser serves the pose-only rounds and one the rest; their curvature history
    carries over between correspondence refreshes (the pairs change little from round to round).
    """
    problem = FrameBatchFit(layer, init, fit_shape, options, device)
    scales = iter(robust_scales(options))
    optimisers: dict[bool, torch.optim.LBFGS] = {}
    current: dict[str, object] = {}

    def closure() -> torch.Tensor:
        optimiser = current["optimiser"]
        optimiser.zero_grad(set_to_none=True)
        energy = problem.energy(current["scan_pairs"], current["model_pairs"], current["scale"])
        energy.backward()
        return energy

    round_index = 0
    for n_points, rounds in zip(options.stage_points, options.stage_rounds):
        subsets = [np.sort(rng.choice(len(f.points), size=min(n_points or len(f.points), len(f.points)),
                                      replace=False)) for f in frames]
        for _ in range(rounds):
            with torch.no_grad():
                vertices = problem.vertices()
                normals = vertex_normals(vertices, layer.faces)
            current["scale"] = next(scales)
            current["scan_pairs"], current["model_pairs"] = find_pairs(
                vertices.cpu().numpy(), normals.cpu().numpy(), frames, subsets, current["scale"],
                options, device)
            pose_only = round_index < options.pose_only_rounds
            round_index += 1
            if pose_only not in optimisers:
                optimisers[pose_only] = torch.optim.LBFGS(
                    problem.unknowns(pose_only), lr=1.0, max_iter=options.lbfgs_iterations,
                    history_size=10, line_search_fn="strong_wolfe", tolerance_grad=0.0,
                    tolerance_change=0.0)
            current["optimiser"] = optimisers[pose_only]
            optimisers[pose_only].step(closure)
    return problem.result()
