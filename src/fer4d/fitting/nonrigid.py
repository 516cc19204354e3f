"""Non-rigid FLAME fitting of a batch of frames with one shared identity.

Unknowns: the identity ``shape`` (shared), and per frame ``expression``, the rotation of the
fitted joints (``pose_joints``: global and jaw by default; axis-angle) and ``translation``.
Energy (data terms averaged over the batch):

* scan → model and model → scan Geman–McClure pairs (``fer4d.fitting.correspondences``);
* L2 priors on shape, expression and the non-global joints, and a first-difference temporal
  smoothness on expression, pose (as ``POSE_SCALE`` × angle) and translation.

Correspondences are refreshed ``stage_rounds`` times per coarse-to-fine stage (scan subsets of
``stage_points`` points), the Geman–McClure scale shrinking from ``robust_scale_start_mm`` to
``robust_scale_mm`` over the rounds; after each refresh ``solver_steps`` Levenberg–Marquardt
steps (Marquardt 1963) minimise the energy with the pairs fixed: Gauss–Newton on the
iteratively re-weighted robust terms, exact FLAME Jacobians (``fer4d.fitting.jacobian``), and a
banded solve of the whole sequence's normal equations (``fer4d.fitting.normal_equations``). A
step is kept only if it lowers the energy. The first ``pose_only_rounds`` rounds move only pose
and translation (head motion and jaw first). The stages before the last fit keyframes only
(every ``keyframe_stride``-th frame) and pair only every ``keyframe_vertex_stride``-th model
vertex with the scan; the last starts every frame from their interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from fer4d.fitting.correspondences import Pairs, ScanFrame, find_pairs, robust_scales
from fer4d.fitting.geometry import vertex_normals
from fer4d.fitting.jacobian import vertex_jacobian
from fer4d.fitting.normal_equations import NormalEquations
from fer4d.fitting.options import FitOptions
from fer4d.flame.layer import FlameLayer

POSE_SCALE = 100.0
"""Temporal smoothness measures a pose step as ``POSE_SCALE`` × its angle (rad), about the mm of
motion it causes at head size, so that it weighs like the translation's and the vertices'."""

MAX_STEP_TRIES = 4
"""Levenberg–Marquardt: how many times a step that raises the energy is retried with 8× the
damping before the round gives up and keeps the current fit."""


@dataclass
class SequenceParams:
    """FLAME parameters of T frames: shape (n_shape,), expression (T, n_expr),
    pose (T, 5, 3) axis-angle rad, translation (T, 3) mm."""

    shape: np.ndarray
    expression: np.ndarray
    pose: np.ndarray
    translation: np.ndarray

    def frames(self, index: np.ndarray) -> SequenceParams:
        """The parameters of the frames ``index`` (K,) long, with the same shape."""
        return SequenceParams(self.shape, self.expression[index], self.pose[index], self.translation[index])

    @classmethod
    def zeros(cls, n_frames: int, n_shape: int, n_expr: int) -> SequenceParams:
        return cls(
            np.zeros(n_shape, np.float32),
            np.zeros((n_frames, n_expr), np.float32),
            np.zeros((n_frames, 5, 3), np.float32),
            np.zeros((n_frames, 3), np.float32),
        )


class FrameBatch:
    """The parameters of B frames as tensors, their energy and its Gauss–Newton system.

    shape: (n_shape,); expression: (B, n_expr); pose: (B, 5, 3) rad; translation: (B, 3) mm.
    The local unknowns of a frame are [expression | pose of ``pose_joints`` | translation].
    """

    def __init__(self, layer: FlameLayer, init: SequenceParams, options: FitOptions, device: torch.device):
        tensor = lambda array: torch.tensor(array, dtype=torch.float32, device=device)
        self.layer, self.options = layer, options
        self.posed: torch.Tensor | None = None
        self.set(tensor(init.shape), tensor(init.expression), tensor(init.pose), tensor(init.translation))
        self.joints = tuple(options.pose_joints)

    @property
    def n_frames(self) -> int:
        return self.expression.shape[0]

    def coefficients(self) -> torch.Tensor:
        """(B, n_shape + n_expr) stacked identity and expression coefficients."""
        return torch.cat([self.shape.expand(self.n_frames, -1), self.expression], dim=1)

    def vertices(self) -> torch.Tensor:
        """(B, V, 3) mm in the model frame (no gradient; kept until the parameters change)."""
        if self.posed is None:
            with torch.no_grad():
                self.posed = self.layer(
                    self.shape.expand(self.n_frames, -1), self.expression, self.pose, self.translation
                ).vertices
        return self.posed

    def set(self, shape: torch.Tensor, expression: torch.Tensor, pose: torch.Tensor, translation: torch.Tensor) -> None:
        """Replace the parameters (shapes as in the class docstring)."""
        self.shape, self.expression, self.pose, self.translation = shape, expression, pose, translation
        self.posed = None

    def local(self) -> torch.Tensor:
        """(B, L) the local unknowns of each frame."""
        return torch.cat([self.expression, self.pose[:, list(self.joints)].flatten(1), self.translation], dim=1)

    def regulariser_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Quadratic regulariser of the local unknowns, (L,) each: prior weight per frame and
        temporal-smoothness weight per first difference (0 for a single frame)."""
        o, n = self.options, self.n_frames
        pose_prior = torch.tensor([0.0 if joint == 0 else o.pose_prior / n for joint in self.joints for _ in range(3)])
        prior = torch.cat([torch.full((self.expression.shape[1],), o.expression_prior / n), pose_prior, torch.zeros(3)])
        smooth = torch.cat(
            [torch.ones(self.expression.shape[1]), torch.full((3 * len(self.joints),), POSE_SCALE**2), torch.ones(3)]
        )
        smooth = smooth * (o.smoothness / (n - 1) if n > 1 else 0.0)
        return prior.to(self.shape.device), smooth.to(self.shape.device)

    def energy(
        self, scan_pairs: Pairs, model_pairs: Pairs, scale: float, vertices: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Total energy with the Geman–McClure ``scale`` (mm); ``vertices``: the current
        (B, V, 3) when already at hand."""
        flat = (self.vertices() if vertices is None else vertices).reshape(-1, 3)
        prior, smooth = self.regulariser_weights()
        local = self.local()
        fixed_pose = [j for j in range(1, 5) if j not in self.joints]
        regulariser = (
            self.options.shape_prior * self.shape.square().sum()
            + (prior * local.square()).sum()
            + self.options.pose_prior * self.pose[:, fixed_pose].square().sum() / self.n_frames
            + (smooth * torch.diff(local, dim=0).square()).sum()
        )
        return scan_pairs.energy(flat, scale) + model_pairs.energy(flat, scale) + regulariser

    def normal_equations(
        self, pairs: tuple[Pairs, Pairs], scale: float, fit_shape: bool, pose_only: bool, rng: np.random.Generator
    ) -> tuple[NormalEquations, np.ndarray]:
        """The Gauss–Newton system at the current parameters and the local columns it solves
        for (indices into the local vector). Shared unknowns: the shape when ``fit_shape``
        (and not ``pose_only``); ``pose_only`` solves for pose and translation only."""
        n_shape, n_expr = self.shape.shape[0], self.expression.shape[1]
        local_columns = np.arange(n_expr if pose_only else 0, n_expr + 3 * len(self.joints) + 3)
        n_shared = n_shape if fit_shape and not pose_only else 0
        sample, scale_up = self.hessian_sample(pairs, rng)
        hessian, shape_grad, local_grad = self.data_terms(pairs, scale, sample)
        with torch.no_grad():
            blocks = self.gauss_newton_blocks(hessian, sample, n_shared, pose_only) * scale_up
            prior, smooth = self.regulariser_weights()
            local = self.local()
            steps = torch.diff(local, dim=0) * smooth
            local_grad += 2 * prior * local
            local_grad[1:] += 2 * steps
            local_grad[:-1] -= 2 * steps
            degree = torch.full((self.n_frames, 1), 2.0, device=local.device)
            degree[[0, -1]] = 1.0 if self.n_frames > 1 else 0.0
            diagonal = 2 * prior + 2 * smooth * degree  # the regulariser's Hessian
        as_np = lambda t: t.double().cpu().numpy()
        index = torch.as_tensor(local_columns, device=local.device)
        local_blocks = as_np(blocks[:, n_shared:, n_shared:])
        np.einsum("bii->bi", local_blocks)[:] += as_np(diagonal[:, index])
        shape_prior = self.options.shape_prior
        system = NormalEquations(
            local=local_blocks,
            coupling=as_np(-2 * smooth[index]).reshape(1, -1).repeat(self.n_frames - 1, 0),
            cross=as_np(blocks[:, n_shared:, :n_shared]),
            shared=as_np(blocks[:, :n_shared, :n_shared].sum(0)) + 2 * shape_prior * np.eye(n_shared),
            local_gradient=as_np(local_grad[:, index]),
            shared_gradient=as_np((shape_grad + 2 * shape_prior * self.shape)[:n_shared]),
        )
        return system, local_columns

    def hessian_sample(self, pairs: tuple[Pairs, Pairs], rng: np.random.Generator) -> tuple[torch.Tensor, float]:
        """The vertices (A,) long that estimate the Gauss–Newton matrix, and the factor that
        scales their sum up to all paired vertices.

        At most ``hessian_vertices`` of the vertices with a pair in any frame, drawn at random:
        ~100 unknowns per frame need far fewer than the thousands of vertices a scan pairs with,
        and an approximate matrix only changes the step (the energy test keeps it a descent), not
        the point the fit converges to, which the exact gradient fixes.
        """
        n_vertices = self.layer.n_vertices
        has_pair = torch.zeros(n_vertices, dtype=torch.bool, device=self.shape.device)
        for side in pairs:
            has_pair[side.vertex[side.weight > 0] % n_vertices] = True
        paired = torch.nonzero(has_pair).squeeze(1)
        if len(paired) <= (self.options.hessian_vertices or len(paired)):
            return paired, 1.0
        chosen = np.sort(rng.choice(len(paired), self.options.hessian_vertices, replace=False))
        return paired[torch.as_tensor(chosen, device=paired.device)], len(paired) / len(chosen)

    def data_terms(
        self, pairs: tuple[Pairs, Pairs], scale: float, sample: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The correspondence energy's Gauss–Newton matrices at the ``sample`` vertices
        (B, A, 3, 3) and its exact gradient with respect to the shape (n_shape,) and the local
        unknowns (B, L): the per-vertex gradient pulled back through the layer (one backward
        pass)."""
        leaves = [t.clone().requires_grad_() for t in (self.shape, self.expression, self.pose, self.translation)]
        posed = self.layer(leaves[0].expand(self.n_frames, -1), *leaves[1:]).vertices
        self.posed = posed.detach()
        n_vertices, n_sample = posed.shape[1], len(sample)
        with torch.no_grad():
            slot_of_vertex = torch.full((n_vertices,), -1, dtype=torch.long, device=posed.device)
            slot_of_vertex[sample] = torch.arange(n_sample, device=posed.device)
            frame_offset = torch.arange(self.n_frames, device=posed.device)[:, None] * n_sample
            slots = torch.where(slot_of_vertex >= 0, slot_of_vertex + frame_offset, -1).reshape(-1)  # (B*V,)
            flat = posed.reshape(-1, 3)
            terms = [side.normal_terms(flat, scale, slots, self.n_frames * n_sample) for side in pairs]
            hessian = sum(h for h, _ in terms).reshape(self.n_frames, n_sample, 3, 3)
            gradient = sum(g for _, g in terms).reshape(posed.shape)
        # J^T g as the gradient of the scalar <posed, g>: the same numbers as posed.backward(g),
        # without torch's first-call import of its symbolic-shape machinery (~0.5 s CPU per fit job)
        (posed * gradient).sum().backward()
        shape_grad, expression_grad, pose_grad, translation_grad = (leaf.grad for leaf in leaves)
        local_grad = torch.cat([expression_grad, pose_grad[:, list(self.joints)].flatten(1), translation_grad], dim=1)
        return hessian, shape_grad, local_grad

    def gauss_newton_blocks(
        self, hessian: torch.Tensor, sample: torch.Tensor, n_shared: int, pose_only: bool
    ) -> torch.Tensor:
        """Per frame ``Σ_i J_iᵀ H_i J_i`` (B, S + P, S + P) over [the first ``n_shared`` shape
        coefficients | the solved local unknowns] and the ``sample`` vertices (A,), from their
        matrices ``hessian`` (B, A, 3, 3)."""
        n_shape, n_expr = self.shape.shape[0], self.expression.shape[1]
        first = n_shape - n_shared
        rows = vertex_jacobian(self.layer, self.coefficients(), self.pose, self.joints, sample, first)
        if pose_only:
            rows = rows[..., n_expr + n_shared :]
        size = rows.shape[-1]
        weighted = (hessian @ rows).reshape(self.n_frames, -1, size)  # (B, 3A, size)
        return rows.reshape(self.n_frames, -1, size).transpose(1, 2) @ weighted

    def apply(self, step_local: np.ndarray, step_shared: np.ndarray, columns: np.ndarray) -> None:
        """Add a step: step_local (B, len(columns)) to those local unknowns, step_shared (S,) to
        the first S shape coefficients."""
        local = self.local()
        local[:, torch.as_tensor(columns)] += torch.as_tensor(step_local, dtype=local.dtype, device=local.device)
        n_expr, n_joints = self.expression.shape[1], len(self.joints)
        pose = self.pose.clone()
        pose[:, list(self.joints)] = local[:, n_expr : n_expr + 3 * n_joints].reshape(-1, n_joints, 3)
        shape = self.shape.clone()
        shape[: len(step_shared)] += torch.as_tensor(step_shared, dtype=shape.dtype, device=shape.device)
        self.set(shape, local[:, :n_expr].contiguous(), pose, local[:, n_expr + 3 * n_joints :].contiguous())

    def levenberg_marquardt(
        self,
        pairs: tuple[Pairs, Pairs],
        scale: float,
        fit_shape: bool,
        pose_only: bool,
        damping: float,
        rng: np.random.Generator,
    ) -> float:
        """One damped Gauss–Newton step with the pairs fixed; returns the damping to use next."""
        system, columns = self.normal_equations(pairs, scale, fit_shape, pose_only, rng)
        with torch.no_grad():
            before = float(self.energy(*pairs, scale))
            saved = (self.shape, self.expression, self.pose, self.translation, self.posed)
            for _ in range(MAX_STEP_TRIES):
                self.apply(*system.solve(damping), columns)
                if float(self.energy(*pairs, scale)) <= before:
                    return max(damping / 4.0, 1e-6)
                self.set(*saved[:4])
                self.posed = saved[4]
                damping *= 8.0
        return damping

    def result(self) -> SequenceParams:
        as_np = lambda t: t.detach().cpu().numpy().astype(np.float32)
        return SequenceParams(as_np(self.shape), as_np(self.expression), as_np(self.pose), as_np(self.translation))


def keyframes(n_frames: int, stride: int) -> np.ndarray:
    """Indices of every ``stride``-th frame of ``n_frames``, always with the last one."""
    return np.unique(np.append(np.arange(0, n_frames, max(stride, 1)), n_frames - 1))


def keyframe_options(options: FitOptions, stride: float) -> FitOptions:
    """The options of the keyframe stages, ``stride`` frames apart.

    The temporal smoothness is divided by stride², so that it weighs a smooth motion as it does
    at the full frame rate (first differences grow with the stride, their number shrinks). Each
    keyframe's Gauss–Newton matrix takes stride × ``hessian_vertices`` vertices: the identity's
    block sums those of the frames, so it keeps the samples it has with every frame.
    """
    return replace(
        options,
        smoothness=options.smoothness / stride**2,
        hessian_vertices=round(options.hessian_vertices * stride),
    )


def interpolate(params: SequenceParams, key: np.ndarray, n_frames: int) -> SequenceParams:
    """Per-frame parameters of ``n_frames`` frames, linear in time between the fitted ``key``
    frames (the axis-angle pose too: head and jaw turn little from one keyframe to the next)."""
    frames = np.arange(n_frames)
    spread = lambda values: (
        np.stack([np.interp(frames, key, column) for column in values.reshape(len(key), -1).T], axis=1)
        .reshape(n_frames, *values.shape[1:])
        .astype(np.float32)
    )
    return SequenceParams(params.shape, spread(params.expression), spread(params.pose), spread(params.translation))


def fit_batch(
    layer: FlameLayer,
    frames: list[ScanFrame],
    init: SequenceParams,
    fit_shape: bool,
    options: FitOptions,
    device: torch.device,
    rng: np.random.Generator,
) -> SequenceParams:
    """Fit the frames of one batch (len(frames) == T of ``init``) and return their parameters.

    The stages before the last fit only every ``options.keyframe_stride``-th frame (and the
    last, ``keyframes``); the frames between start the last stage from the keyframes' linear
    interpolation. Consecutive frames of a 25 fps sequence differ little, so the coarse stages,
    which find the head pose, the identity and the gross expression, need not see them all.
    """
    n_frames = len(frames)
    key = keyframes(n_frames, options.keyframe_stride)
    coarse = len(key) < n_frames and len(options.stage_points) > 1
    if coarse:
        stride = (n_frames - 1) / (len(key) - 1)
        batch = FrameBatch(layer, init.frames(key), keyframe_options(options, stride), device)
        batch_frames = [frames[t] for t in key]
    else:
        batch, batch_frames = FrameBatch(layer, init, options, device), frames
    scales = iter(robust_scales(options))
    damping, round_index = 1e-3, 0
    for stage, (n_points, rounds) in enumerate(zip(options.stage_points, options.stage_rounds)):
        keyframe_stage = coarse and stage < len(options.stage_points) - 1
        if coarse and not keyframe_stage:
            batch = FrameBatch(layer, interpolate(batch.result(), key, n_frames), options, device)
            batch_frames = frames
        vertex_stride = options.keyframe_vertex_stride if keyframe_stage else 1
        subsets = [
            np.sort(rng.choice(len(f.points), size=min(n_points or len(f.points), len(f.points)), replace=False))
            for f in batch_frames
        ]
        for _ in range(rounds):
            scale = float(next(scales))
            with torch.no_grad():
                vertices = batch.vertices()
                normals = vertex_normals(vertices, layer.faces)
            pairs = find_pairs(
                vertices.cpu().numpy(),
                normals.cpu().numpy(),
                batch_frames,
                subsets,
                scale,
                options,
                device,
                vertex_stride,
            )
            pose_only = round_index < options.pose_only_rounds
            round_index += 1
            for _ in range(options.solver_steps):
                damping = batch.levenberg_marquardt(pairs, scale, fit_shape, pose_only, damping, rng)
    return batch.result()
