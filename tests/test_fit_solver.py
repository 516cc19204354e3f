"""The Gauss–Newton machinery of the non-rigid fit: FLAME Jacobians, the normal equations and
their banded solve, the Levenberg–Marquardt step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer4d.fitting.correspondences import Pairs
from fer4d.fitting.jacobian import vertex_jacobian
from fer4d.fitting.nonrigid import FrameBatch, SequenceParams
from fer4d.fitting.normal_equations import NormalEquations, block_tridiagonal_solve
from fer4d.fitting.options import FitOptions
from fer4d.flame.layer import FlameLayer
from test_fit_scans import small_model  # noqa: F401  (fixture)

N_SHAPE, N_EXPR, JOINTS = 6, 5, (0, 2)


@pytest.fixture()
def posed_model(small_model):
    """The small model with random pose correctives (the synthetic one has weak ones), so that
    every term of the pose derivative is exercised."""
    model = small_model
    original = model.posedirs
    model.posedirs = np.random.default_rng(1).normal(scale=0.5, size=original.shape)
    yield model
    model.posedirs = original


def random_params(n_frames: int, rng: np.random.Generator) -> SequenceParams:
    return SequenceParams(
        rng.normal(size=N_SHAPE).astype(np.float32),
        rng.normal(size=(n_frames, N_EXPR)).astype(np.float32),
        (0.15 * rng.normal(size=(n_frames, 5, 3))).astype(np.float32),
        rng.normal(size=(n_frames, 3)).astype(np.float32),
    )


def test_vertex_jacobian_matches_autograd(posed_model):
    layer = FlameLayer(posed_model, N_SHAPE, N_EXPR, dtype=torch.float64)
    rng = np.random.default_rng(0)
    params = random_params(3, rng)
    coefficients = torch.as_tensor(
        np.concatenate([np.repeat(params.shape[None], 3, 0), params.expression], 1), dtype=torch.float64
    )
    pose = torch.as_tensor(params.pose, dtype=torch.float64)
    vertices = torch.as_tensor(np.sort(rng.choice(posed_model.n_vertices, 40, replace=False)))

    def posed(c, angles, translation):
        full = pose.clone()
        full[:, list(JOINTS)] = angles.reshape(3, len(JOINTS), 3)
        return layer(c[:, :N_SHAPE], c[:, N_SHAPE:], full, translation).vertices[:, vertices]

    reference = torch.autograd.functional.jacobian(
        posed, (coefficients, pose[:, list(JOINTS)].reshape(3, -1), torch.zeros(3, 3, dtype=torch.float64))
    )
    jacobian = vertex_jacobian(layer, coefficients, pose, JOINTS, vertices)
    for b in range(3):
        expected = torch.cat([part[b, :, :, b] for part in reference], dim=-1)
        torch.testing.assert_close(jacobian[b], expected, rtol=1e-6, atol=1e-6)
    shape_free = vertex_jacobian(layer, coefficients, pose, JOINTS, vertices, first=N_SHAPE)
    torch.testing.assert_close(shape_free, jacobian[..., N_SHAPE:])


def random_pairs(n_vertices: int, count: int, tangential: float, rng: np.random.Generator) -> Pairs:
    normal = rng.normal(size=(count, 3))
    return Pairs(
        torch.as_tensor(rng.integers(0, n_vertices, count)),
        torch.as_tensor(20 * rng.normal(size=(count, 3)), dtype=torch.float32),
        torch.as_tensor(normal / np.linalg.norm(normal, axis=1, keepdims=True), dtype=torch.float32),
        torch.full((count,), 1.0 / count),
        tangential,
    )


@pytest.fixture()
def problem(small_model):
    rng = np.random.default_rng(2)
    options = FitOptions(
        n_shape=N_SHAPE,
        n_expr=N_EXPR,
        smoothness=0.3,
        expression_prior=0.1,
        shape_prior=0.05,
        pose_prior=2.0,
        hessian_vertices=50,
    )
    batch = FrameBatch(FlameLayer(small_model, N_SHAPE, N_EXPR), random_params(4, rng), options, torch.device("cpu"))
    n_flat = 4 * small_model.n_vertices
    return batch, (random_pairs(n_flat, 600, 0.0, rng), random_pairs(n_flat, 600, 0.3, rng)), rng


def test_normal_equations_carry_the_exact_energy_gradient(problem):
    """Whatever subset of vertices estimates the Gauss–Newton matrix, the right-hand side is the
    energy's exact gradient (so the fit converges to the energy's minimum)."""
    batch, pairs, rng = problem
    system, columns = batch.normal_equations(pairs, 5.0, True, False, rng)
    shape = batch.shape.clone().requires_grad_()
    local = batch.local().clone().requires_grad_()
    n_joint_values = 3 * len(JOINTS)
    pose = batch.pose.clone()
    pose[:, list(JOINTS)] = local[:, N_EXPR : N_EXPR + n_joint_values].reshape(-1, len(JOINTS), 3)
    other = FrameBatch(batch.layer, batch.result(), batch.options, torch.device("cpu"))
    other.set(shape, local[:, :N_EXPR], pose, local[:, N_EXPR + n_joint_values :])
    vertices = other.layer(shape.expand(len(pose), -1), other.expression, other.pose, other.translation).vertices
    other.energy(*pairs, 5.0, vertices).backward()
    assert list(columns) == list(range(local.shape[1]))
    np.testing.assert_allclose(system.shared_gradient, shape.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(system.local_gradient, local.grad.numpy(), rtol=1e-3, atol=1e-3)


def test_levenberg_marquardt_steps_lower_the_energy_and_pose_only_keeps_the_rest(problem):
    batch, pairs, rng = problem
    start = float(batch.energy(*pairs, 5.0))
    expression = batch.expression.clone()
    batch.levenberg_marquardt(pairs, 5.0, False, True, 1e-3, rng)
    torch.testing.assert_close(batch.expression, expression)
    after_pose = float(batch.energy(*pairs, 5.0))
    for _ in range(3):
        batch.levenberg_marquardt(pairs, 5.0, True, False, 1e-3, rng)
    assert after_pose <= start and float(batch.energy(*pairs, 5.0)) < 0.5 * start


def test_banded_solve_matches_a_dense_solve():
    rng = np.random.default_rng(3)
    n_frames, width, n_shared = 5, 4, 3
    size = n_frames * width + n_shared
    root = rng.normal(size=(size, size))
    dense = root @ root.T + size * np.eye(size)
    for b in range(n_frames):  # the structure: coupling only between neighbouring frames, diagonal
        for other in range(n_frames):
            block = dense[b * width : (b + 1) * width, other * width : (other + 1) * width]
            if abs(b - other) == 1:
                block[:] = np.diag(np.diag(block))
            elif abs(b - other) > 1:
                block[:] = 0.0
    local = np.stack([dense[b * width : (b + 1) * width, b * width : (b + 1) * width] for b in range(n_frames)])
    coupling = np.stack(
        [np.diag(dense[b * width : (b + 1) * width, (b + 1) * width : (b + 2) * width]) for b in range(n_frames - 1)]
    )
    cross = dense[: n_frames * width, n_frames * width :].reshape(n_frames, width, n_shared)
    gradient = rng.normal(size=size)
    system = NormalEquations(
        local,
        coupling,
        cross,
        dense[-n_shared:, -n_shared:],
        gradient[:-n_shared].reshape(n_frames, width),
        gradient[-n_shared:],
    )
    step_local, step_shared = system.solve(damping=0.0)
    expected = np.linalg.solve(dense, -gradient)
    np.testing.assert_allclose(np.concatenate([step_local.ravel(), step_shared]), expected, atol=1e-6)
    right = torch.as_tensor(rng.normal(size=(n_frames, width, 2)))
    solved = block_tridiagonal_solve(torch.as_tensor(local), torch.as_tensor(coupling), right)
    np.testing.assert_allclose(
        dense[: n_frames * width, : n_frames * width] @ solved.reshape(-1, 2).numpy(),
        right.reshape(-1, 2).numpy(),
        atol=1e-8,
    )


def test_gauss_newton_matrix_sums_every_pair_at_the_sampled_vertices(problem):
    """The Gauss–Newton blocks equal Σ over the pairs of the sampled vertices of Jᵀ ω A J,
    computed here pair by pair (so each pair reaches its frame's block, and only there)."""
    batch, pairs, rng = problem
    sample, scale_up = batch.hessian_sample(pairs, rng)
    hessian, _, _ = batch.data_terms(pairs, 5.0, sample)
    blocks = batch.gauss_newton_blocks(hessian, sample, N_SHAPE, False)
    n_vertices = batch.layer.n_vertices
    rows = vertex_jacobian(batch.layer, batch.coefficients(), batch.pose, JOINTS, sample, 0)  # (B, A, 3, K)
    position = {int(v): a for a, v in enumerate(sample)}
    expected = torch.zeros_like(blocks)
    flat = batch.vertices().reshape(-1, 3)
    for side in pairs:
        _, squared = side.squared_distance(flat)
        omega = 2.0 * side.weight * 5.0**4 / (squared + 5.0**2).square()
        for p, vertex in enumerate(side.vertex.tolist()):
            frame, a = divmod(vertex, n_vertices)
            if a not in position or side.weight[p] == 0:
                continue
            n = side.normal[p]
            matrix = omega[p] * (side.tangential * torch.eye(3) + (1 - side.tangential) * torch.outer(n, n))
            jacobian = rows[frame, position[a]]
            expected[frame] += jacobian.T @ matrix @ jacobian
    torch.testing.assert_close(blocks, expected, rtol=1e-4, atol=1e-6)
    assert len(sample) == batch.options.hessian_vertices and scale_up > 1.0
