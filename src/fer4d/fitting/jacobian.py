"""Exact derivatives of FLAME's posed vertices with respect to its parameters, for Gauss–Newton.

FLAME (Li et al. 2017) is linear in its stacked shape and expression coefficients ``c`` before
skinning: rest vertices ``r = T + D c`` and rest joints ``J = J₀ + Dⱼ c``. Linear blend skinning
then gives ``v_i = Σ_j w_ij (R_j r̃_i + t_j) + τ`` (``r̃``: rest plus pose correctives) with joint
rotations ``R_j`` that depend on the pose only and translations ``t_j`` linear in the rest
joints. Hence

    ∂v_i/∂c = M_i D_i + Σ_j w_ij (∂t_j/∂J) Dⱼ,   M_i = Σ_j w_ij R_j,

a few small products instead of one forward-mode pass per coefficient. The pose columns (a
handful per frame) go through the 5-joint chain by central differences; translation's are the
identity.
Everything is evaluated on a chosen subset of the vertices only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from fer4d.flame import lbs
from fer4d.flame.layer import FlameLayer
from fer4d.flame.model import N_JOINTS

STEP = 1e-6
"""Central-difference step (rad or mm) for the derivatives of the 5-joint chain, in float64."""


def chain_columns(
    function: Callable[..., tuple[torch.Tensor, ...]],
    primal: torch.Tensor,
    basis: torch.Tensor,
    context: tuple[torch.Tensor, ...],
) -> tuple[torch.Tensor, ...]:
    """Directional derivatives of ``function(x, *context)`` at ``x = primal`` (B, ...) along each
    of the n tangents ``basis`` (n, B, ...), by central differences in float64 with all 2n
    evaluations in one batch (``context`` tensors, batched by B, are repeated to match).

    Used for the tiny joint chain only (B × 5 transforms): float64 differences are accurate to
    ~1e-10 there, and they avoid forward-mode AD, whose first use imports torch's compiler
    stack (about a second per process). Returns each output's derivatives, (n, B, ...).
    """
    n, dtype = basis.shape[0], primal.dtype
    repeat = lambda t: t.double().repeat(2 * n, *([1] * (t.dim() - 1)))
    offsets = STEP * basis.double().reshape(-1, *primal.shape[1:])
    moved = repeat(primal) + torch.cat([offsets, -offsets])
    with torch.no_grad():
        outputs = function(moved, *(repeat(t) for t in context))
    return tuple(
        ((out[: n * len(primal)] - out[n * len(primal) :]) / (2 * STEP))
        .to(dtype)
        .reshape(n, len(primal), *out.shape[1:])
        for out in outputs
    )


def vertex_jacobian(
    layer: FlameLayer,
    coefficients: torch.Tensor,
    pose: torch.Tensor,
    joints: tuple[int, ...],
    vertices: torch.Tensor,
    first: int = 0,
) -> torch.Tensor:
    """(B, A, 3, K - first + 3·len(joints) + 3) Jacobian of the posed ``vertices`` (A,) long of
    B frames with respect to [coefficients[first:] | axis-angle of ``joints`` | translation
    (3)], at coefficients (B, K) and pose (B, 5, 3) rad (translation enters linearly)."""
    batch, n_coefficients = coefficients.shape
    n_vertices = len(vertices)
    directions = layer.directions.reshape(-1, 3, n_coefficients)[vertices]  # (A, 3, K)
    weights = layer.weights[vertices]  # (A, J)
    with torch.no_grad():
        rest = layer.v_template[vertices] + (
            coefficients @ directions.permute(2, 0, 1).reshape(n_coefficients, -1)
        ).reshape(batch, n_vertices, 3)  # (B, A, 3)
        rest_joints = layer.rest_shape_joints(coefficients)

    def chain(angles: torch.Tensor, joint_locations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rotations = lbs.rodrigues(angles)
        return rotations, lbs.rigid_transforms(rotations, joint_locations, layer.parents)[1]

    def skinning_translations(joint_locations: torch.Tensor, rotations: torch.Tensor) -> tuple[torch.Tensor]:
        return (lbs.rigid_transforms(rotations, joint_locations, layer.parents)[1][:, :, :3, 3],)

    with torch.no_grad():
        rotations, transforms = chain(pose, rest_joints)
    rotation = (weights @ transforms[:, :, :3, :3].reshape(batch, N_JOINTS, 9)).reshape(batch, -1, 3, 3)

    # coefficients: M_i D_i + joint translations
    eye = torch.eye(N_JOINTS * 3, dtype=pose.dtype, device=pose.device)
    joint_basis = eye.reshape(-1, 1, N_JOINTS, 3).expand(-1, batch, N_JOINTS, 3)
    (translation_columns,) = chain_columns(skinning_translations, rest_joints, joint_basis, (rotations,))
    joint_coefficients = torch.einsum("mbjc,mk->bjck", translation_columns, layer.joint_directions[:, first:])
    coefficient_columns = torch.einsum("bacd,adk->back", rotation, directions[..., first:])
    coefficient_columns += (weights @ joint_coefficients.reshape(batch, N_JOINTS, -1)).reshape(batch, n_vertices, 3, -1)

    # pose: Σ_j w_ij ∂G_j [r̃_i; 1], plus M_i P_ik vec(∂R_k) for a non-root joint k
    basis = torch.zeros(3 * len(joints), batch, N_JOINTS, 3, dtype=pose.dtype, device=pose.device)
    for column, (joint, axis) in enumerate((j, a) for j in joints for a in range(3)):
        basis[column, :, joint, axis] = 1.0
    d_rotations, d_transforms = chain_columns(chain, pose, basis, (rest_joints,))
    correctives = layer.posedirs.reshape(-1, 3, N_JOINTS - 1, 9)[vertices]  # (A, 3, J-1, 9)
    corrected = rest + torch.einsum("bf,acf->bac", lbs.pose_features(rotations), correctives.reshape(n_vertices, 3, -1))
    n_pose = basis.shape[0]
    d_blended = weights @ d_transforms[..., :3, :].reshape(n_pose, batch, N_JOINTS, 12)
    d_blended = d_blended.reshape(n_pose, batch, n_vertices, 3, 4)
    pose_columns = (d_blended[..., :3] @ corrected[None, ..., None])[..., 0] + d_blended[..., 3]
    for column, joint in enumerate(j for j in joints for _ in range(3)):
        if joint:
            offset = torch.einsum(
                "bf,acf->bac", d_rotations[column, :, joint].reshape(batch, 9), correctives[:, :, joint - 1]
            )
            pose_columns[column] += (rotation @ offset[..., None])[..., 0]

    translation = torch.eye(3, dtype=pose.dtype, device=pose.device).expand(batch, n_vertices, 3, 3)
    return torch.cat([coefficient_columns, pose_columns.permute(1, 2, 3, 0), translation], dim=-1)
