"""FLAME fitted to a sequence of detected 2D face landmarks (the image path of issue #17).

Unknowns: one identity ``shape`` for the sequence (shared); per frame the ``expression``, the
global and jaw rotations (axis-angle) and a weak-perspective camera ``(s, tx, ty)``: a landmark
``X`` (mm, FLAME's frame: x left-to-right of the image, y up) projects to the pixel
``(s·X_x + tx, −s·X_y + ty)``. FLAME's own translation stays zero (the camera's offset holds it).

Energy: the landmark residuals in units of the frame's face size (the observed landmarks'
bounding-box diagonal), robust (Geman–McClure, iteratively re-weighted, scale ``robust_scale``),
averaged over frames; L2 priors on shape, expression and jaw; first-difference temporal
smoothness on expression, pose and camera. It is minimised as the scan fit is
(``fer4d.fitting.nonrigid``): Levenberg–Marquardt steps on the Gauss–Newton system of the whole
sequence, solved by the block-tridiagonal elimination of ``fer4d.fitting.normal_equations``,
with exact FLAME Jacobians (``fer4d.fitting.jacobian``) pulled through the landmarks'
barycentric embedding. The first ``pose_only_steps`` steps move only the pose and the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fer4d.fitting.jacobian import vertex_jacobian
from fer4d.fitting.nonrigid import POSE_SCALE
from fer4d.fitting.normal_equations import NormalEquations
from fer4d.flame.layer import FlameLayer
from fer4d.flame.model import FlameModel
from fer4d.options import SectionOptions

JOINTS = (0, 2)
"""Fitted joints: global (head) rotation and jaw."""


@dataclass(frozen=True)
class LandmarkFitOptions(SectionOptions):
    """``n_shape`` / ``n_expr``: components fitted; priors weigh squared coefficients (shape, expression)
    and squared jaw angles (rad²); ``smoothness`` weighs squared first differences between frames;
    ``robust_scale``: Geman–McClure scale as a fraction of the face size; ``steps``: LM steps;
    ``flag_iod``: a frame whose median landmark residual exceeds this fraction of the
    inter-ocular distance is flagged as a poor fit.
    The weights are relative to residuals in face sizes (1 px on a 570 px face is 0.0018). The
    priors were chosen on one projected sequence (seed 0 of ``tests/test_fit_landmarks.py``'s
    generator; the tests check seed 1); the smoothness on the synthetic films of seed 1 (2
    subjects, 12 sequences, MediaPipe landmarks), by the mean error of the fitted expression
    displacement (from the first frame) against the ground truth, 0.81 mm mean: all 478 points
    1.28 mm at 1e-5, 1.17 at 1e-4, 1.01 at 1e-3, 0.84 at 1e-2, 0.78 at 0.1, 0.79 at 1; the
    calibrated embedding's surface points 0.80 at 1e-2, 0.76 at 0.1, 0.77 at 0.3."""

    n_shape: int = 50
    n_expr: int = 30
    shape_prior: float = 1e-4
    expression_prior: float = 1e-6
    jaw_prior: float = 1e-5
    smoothness: float = 0.1
    robust_scale: float = 0.03
    steps: int = 40
    pose_only_steps: int = 8
    flag_iod: float = 0.1

    SECTION = "landmark_fit"


@dataclass
class LandmarkFit:
    """The fit of T frames: ``shape (S,)``, ``expression (T, E)``, ``pose (T, 5, 3)`` rad,
    ``camera (T, 3)`` (s px/mm, tx px, ty px); ``vertices (T, V, 3)`` mm in FLAME's frame with the
    global rotation removed; ``posed (T, V, 3)`` mm with it (what the camera projects);
    ``projected (T, L, 2)`` px; ``residual_px (T, L)``; ``face_size_px (T,)``."""

    shape: np.ndarray
    expression: np.ndarray
    pose: np.ndarray
    camera: np.ndarray
    vertices: np.ndarray
    posed: np.ndarray
    projected: np.ndarray
    residual_px: np.ndarray
    face_size_px: np.ndarray


def local_unknowns(params) -> torch.Tensor:
    """(T, E + 9) each frame's unknowns [expression | global and jaw axis-angles | camera] of
    ``params`` = (shape, expression, pose, camera)."""
    _, expression, pose, camera = params
    return torch.cat([expression, pose[:, list(JOINTS)].flatten(1), camera], 1)


def face_sizes(points: np.ndarray) -> np.ndarray:
    """(T,) the diagonal of each frame's landmark bounding box, px; ``points (T, L, 2)``."""
    return np.linalg.norm(points.max(1) - points.min(1), axis=1)


class _Problem:
    """Energy and Gauss–Newton system of the landmark fit at the current parameters (float64)."""

    def __init__(self, layer, faces, b_coords, observed, options):
        self.layer, self.options = layer, options
        self.corners = faces  # (L, 3) vertex indices of each landmark's triangle
        self.b_coords = b_coords  # (L, 3)
        self.observed = observed  # (T, L, 2) px
        self.size = torch.as_tensor(face_sizes(observed.numpy()), dtype=torch.float64)  # (T,)
        self.used, self.inverse = torch.unique(faces.reshape(-1), return_inverse=True)
        self.initial_scale = 1.0  # px/mm, set by fit_landmarks from the first guess

    def landmarks(self, shape, expression, pose) -> torch.Tensor:
        """(T, L, 3) mm."""
        n = expression.shape[0]
        vertices = self.layer(shape.expand(n, -1), expression, pose).vertices
        return (vertices[:, self.corners] * self.b_coords[None, ..., None]).sum(2)

    def residuals(self, params) -> tuple[torch.Tensor, torch.Tensor]:
        """Residuals (T, L, 2) in face sizes, and the landmarks (T, L, 3) mm."""
        shape, expression, pose, camera = params
        points = self.landmarks(shape, expression, pose)
        projected = torch.stack([camera[:, :1] * points[..., 0], -camera[:, :1] * points[..., 1]], -1)
        projected = projected + camera[:, None, 1:]
        return (projected - self.observed) / self.size[:, None, None], points

    def regulariser(self, n_expr: int, n_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(L,) prior and smoothness weights of the local unknowns."""
        o = self.options
        prior = torch.cat(
            [torch.full((n_expr,), o.expression_prior), torch.tensor([0.0] * 3 + [o.jaw_prior] * 3), torch.zeros(3)]
        )
        # a camera step weighs like the same relative change of the face's image: s in units of
        # its mean, tx and ty in face sizes
        s_mean, size_mean = float(self.initial_scale), float(self.size.mean())
        smooth = torch.cat(
            [
                torch.ones(n_expr),
                torch.full((6,), POSE_SCALE**2),
                torch.tensor([s_mean**-2, size_mean**-2, size_mean**-2]),
            ]
        )
        return prior.double() / n_frames, smooth.double() * (o.smoothness / max(n_frames - 1, 1))

    def energy(self, params) -> float:
        residual, _ = self.residuals(params)
        scale2 = self.options.robust_scale**2
        data = (residual.square().sum(-1) / (residual.square().sum(-1) + scale2)).sum() * scale2
        local = local_unknowns(params)
        prior, smooth = self.regulariser(params[1].shape[1], len(local))
        return float(
            data / len(local)
            + self.options.shape_prior * params[0].square().sum()
            + (prior * local.square()).sum()
            + (smooth * torch.diff(local, dim=0).square()).sum()
        )

    def system(self, params, pose_only: bool) -> tuple[NormalEquations, np.ndarray]:
        shape, expression, pose, camera = params
        n_frames, n_expr, n_shape = expression.shape[0], expression.shape[1], shape.shape[0]
        residual, points = self.residuals(params)
        squared = residual.square().sum(-1)  # (T, L)
        scale2 = self.options.robust_scale**2
        weight = (scale2 / (squared + scale2)) ** 2 / n_frames  # IRLS weights of Geman–McClure
        coefficients = torch.cat([shape.expand(n_frames, -1), expression], 1)
        vertex_rows = vertex_jacobian(self.layer, coefficients, pose, JOINTS, self.used)  # (T, A, 3, K+6+3)
        rows = vertex_rows[:, self.inverse.reshape(self.corners.shape)]  # (T, L, 3, 3, cols)
        rows = (rows * self.b_coords[None, :, :, None, None]).sum(2)[..., : n_shape + n_expr + 6]  # (T, L, 3, K+6)
        s = camera[:, 0][:, None, None]
        flame_rows = torch.stack([s * rows[:, :, 0], -s * rows[:, :, 1]], 2)  # (T, L, 2, K+6)
        ones, zeros = torch.ones_like(points[..., 0]), torch.zeros_like(points[..., 0])
        camera_rows = torch.stack(
            [torch.stack([points[..., 0], ones, zeros], -1), torch.stack([-points[..., 1], zeros, ones], -1)], 2
        )  # (T, L, 2, 3)
        jac = torch.cat([flame_rows, camera_rows], -1) / self.size[:, None, None, None]
        jac = jac.reshape(n_frames, -1, jac.shape[-1])  # (T, 2L, S+E+6+3)
        w = weight.repeat_interleave(2, 1)[..., None]  # (T, 2L, 1)
        blocks = jac.transpose(1, 2) @ (w * jac)
        gradient = (jac * w * residual.reshape(n_frames, -1, 1)).sum(1)  # (T, cols)
        n_local_all = n_expr + 9
        local_columns = np.arange(n_expr if pose_only else 0, n_local_all)
        shared = 0 if pose_only else n_shape
        index = torch.as_tensor(n_shape + local_columns)
        local = local_unknowns(params)
        prior, smooth = self.regulariser(n_expr, n_frames)
        local_gradient = gradient[:, n_shape:] + prior * local
        steps = torch.diff(local, dim=0) * smooth
        local_gradient[1:] += steps
        local_gradient[:-1] -= steps
        degree = torch.full((n_frames, 1), 2.0, dtype=torch.float64)
        degree[[0, -1]] = 1.0 if n_frames > 1 else 0.0
        local_blocks = blocks[:, index][:, :, index].clone()
        torch.diagonal(local_blocks, dim1=1, dim2=2)[:] += (prior + smooth * degree)[:, local_columns]
        system = NormalEquations(
            local=local_blocks.numpy(),
            coupling=(-smooth[local_columns]).reshape(1, -1).repeat(max(n_frames - 1, 0), 1).numpy(),
            cross=blocks[:, index][:, :, :shared].numpy(),
            shared=blocks[:, :shared, :shared].sum(0).numpy() + self.options.shape_prior * np.eye(shared),
            local_gradient=local_gradient[:, local_columns].numpy(),
            shared_gradient=(gradient[:, :shared].sum(0) + self.options.shape_prior * shape[:shared]).numpy(),
        )
        return system, local_columns


def _apply(params, step_local, step_shared, columns, n_expr):
    shape, _, pose, _ = params
    local = local_unknowns(params)  # a new tensor: the step does not touch ``params``
    local[:, torch.as_tensor(columns)] += torch.as_tensor(step_local)
    pose = pose.clone()
    pose[:, list(JOINTS)] = local[:, n_expr : n_expr + 6].reshape(-1, 2, 3)
    shape = shape.clone()
    shape[: len(step_shared)] += torch.as_tensor(step_shared)
    return shape, local[:, :n_expr].contiguous(), pose, local[:, n_expr + 6 :].contiguous()


def fit_landmarks(
    points: np.ndarray,
    model: FlameModel,
    face_idx: np.ndarray,
    b_coords: np.ndarray,
    options: LandmarkFitOptions | None = None,
) -> LandmarkFit:
    """Fit FLAME to ``points (T, L, 2)`` px (x right, y down; every row a detected frame), whose
    landmark ``l`` lies in the model's triangle ``face_idx[l]`` at barycentric ``b_coords[l] (3,)``.
    See the module docstring; runs on the CPU in float64."""
    options = options or LandmarkFitOptions()
    n_shape = min(options.n_shape, model.shapedirs.shape[2])
    n_expr = min(options.n_expr, model.exprdirs.shape[2])
    layer = FlameLayer(model, n_shape, n_expr, dtype=torch.float64)
    faces = torch.as_tensor(model.faces[np.asarray(face_idx)], dtype=torch.long)
    problem = _Problem(
        layer,
        faces,
        torch.as_tensor(b_coords, dtype=torch.float64),
        torch.as_tensor(points, dtype=torch.float64),
        options,
    )
    n_frames = len(points)
    shape = torch.zeros(n_shape, dtype=torch.float64)
    expression = torch.zeros(n_frames, n_expr, dtype=torch.float64)
    pose = torch.zeros(n_frames, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        neutral = problem.landmarks(shape, expression[:1], pose[:1])[0, :, :2].numpy() * [1, -1]
    spread = face_sizes(neutral[None])[0]
    s0 = problem.size.numpy() / spread
    problem.initial_scale = float(s0.mean())
    camera = np.stack([s0, *(points.mean(1) - s0[:, None] * neutral.mean(0)).T], 1)
    params = (shape, expression, pose, torch.as_tensor(camera, dtype=torch.float64))
    damping = 1e-3
    with torch.no_grad():
        energy = problem.energy(params)
        for step in range(options.steps):
            system, columns = problem.system(params, pose_only=step < options.pose_only_steps)
            for _ in range(4):
                trial = _apply(params, *system.solve(damping), columns, n_expr)
                trial_energy = problem.energy(trial)
                if trial_energy <= energy:  # kept: its energy is the next step's start
                    params, energy, damping = trial, trial_energy, max(damping / 4, 1e-7)
                    break
                damping *= 8
        residual, _ = problem.residuals(params)
        shape, expression, pose, camera = params
        unposed = pose.clone()
        unposed[:, 0] = 0.0
        vertices = layer(shape.expand(n_frames, -1), expression, unposed).vertices
        posed = layer(shape.expand(n_frames, -1), expression, pose).vertices
    residual_px = residual.norm(dim=-1) * problem.size[:, None]
    return LandmarkFit(
        shape=shape.numpy().astype(np.float32),
        expression=expression.numpy().astype(np.float32),
        pose=pose.numpy().astype(np.float32),
        camera=camera.numpy().astype(np.float32),
        vertices=vertices.numpy().astype(np.float32),
        posed=posed.numpy().astype(np.float32),
        projected=(residual * problem.size[:, None, None]).numpy() + points,
        residual_px=residual_px.numpy().astype(np.float32),
        face_size_px=problem.size.numpy().astype(np.float32),
    )
