"""The FLAME layer: parameters → vertices, landmarks and joints (PyTorch)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from fer4d.flame import lbs
from fer4d.flame.model import N_JOINTS, FlameModel


class FlameOutput(NamedTuple):
    """vertices: (B, V, 3) mm. landmarks: (B, L, 3) mm or None. joints: (B, 5, 3) mm (posed)."""

    vertices: torch.Tensor
    landmarks: torch.Tensor | None
    joints: torch.Tensor


NEGLIGIBLE = 1e-12
"""Entries of a model matrix below this fraction of its largest entry are set to zero: they
move no vertex measurably, but products of them underflow into subnormal floats, which make CPU
matrix products up to three times slower (the fit's Gauss–Newton product on the synthetic model:
38 ms → 12 ms)."""


def negligible_to_zero(matrix: np.ndarray) -> np.ndarray:
    """A copy of ``matrix`` with the entries below ``NEGLIGIBLE`` × its largest magnitude zeroed."""
    matrix = np.array(matrix, copy=True)
    matrix[np.abs(matrix) < NEGLIGIBLE * np.abs(matrix).max(initial=0.0)] = 0.0
    return matrix


class FlameLayer(nn.Module):
    """Differentiable FLAME (Li et al. 2017) with ``n_shape`` identity and ``n_expr`` expression
    components.

    The shape and expression blendshapes are stacked into one matrix, and their effect on the
    joints is precomputed (``J_regressor @ blendshapes``), so a forward pass is two matrix
    products, a batched Rodrigues, a 5-joint chain and one skinning product. All constants are
    buffers: ``.to(device, dtype)`` moves them. Build with ``dtype=torch.float64`` for full
    double precision (casting a float32 layer up keeps float32's rounding of the model).
    """

    def __init__(self, model: FlameModel, n_shape: int, n_expr: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        if not 0 <= n_shape <= model.shapedirs.shape[2]:
            raise ValueError(f"n_shape={n_shape}: the model has {model.shapedirs.shape[2]}")
        if not 0 <= n_expr <= model.exprdirs.shape[2]:
            raise ValueError(f"n_expr={n_expr}: the model has {model.exprdirs.shape[2]}")
        self.n_shape, self.n_expr = n_shape, n_expr
        self.n_vertices = model.n_vertices
        self.parents = [int(p) for p in model.parents]
        directions = np.concatenate([model.shapedirs[:, :, :n_shape], model.exprdirs[:, :, :n_expr]], axis=2)  # (V,3,K)
        flat_directions = directions.reshape(-1, n_shape + n_expr)  # (V*3, K)
        joint_directions = np.einsum("jv,vck->jck", model.J_regressor, directions)
        as_tensor = lambda array: torch.as_tensor(np.ascontiguousarray(array), dtype=dtype)
        self.register_buffer("v_template", as_tensor(model.v_template))
        self.register_buffer("directions", as_tensor(negligible_to_zero(flat_directions)))  # (V*3, K)
        self.register_buffer("joint_template", as_tensor(model.J_regressor @ model.v_template))
        joint_directions = negligible_to_zero(joint_directions.reshape(N_JOINTS * 3, -1))
        self.register_buffer("joint_directions", as_tensor(joint_directions))  # (15, K)
        posedirs = negligible_to_zero(model.posedirs.reshape(-1, model.posedirs.shape[2]))
        self.register_buffer("posedirs", as_tensor(posedirs))
        self.register_buffer("weights", as_tensor(negligible_to_zero(model.weights)))
        self.register_buffer("faces", torch.as_tensor(model.faces, dtype=torch.long))
        if model.lmk_face_idx is not None:
            self.register_buffer("lmk_face_idx", torch.as_tensor(model.lmk_face_idx, dtype=torch.long))
            self.register_buffer("lmk_b_coords", as_tensor(model.lmk_b_coords))
        else:
            self.lmk_face_idx = self.lmk_b_coords = None

    @property
    def directions_t(self) -> torch.Tensor:
        """(n_shape + n_expr, V*3) mm: the stacked identity and expression blendshapes, one row
        per coefficient (a view of the ``directions`` buffer)."""
        return self.directions.T

    def rest_shape(self, coefficients: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unposed mesh and joints of the stacked coefficients (B, n_shape + n_expr):
        rest (B, V, 3) mm and joints (B, 5, 3) mm; both linear in the coefficients."""
        rest = self.v_template + lbs.blend_shapes(coefficients, self.directions)
        return rest, self.rest_shape_joints(coefficients)

    def rest_shape_joints(self, coefficients: torch.Tensor) -> torch.Tensor:
        """Unposed joints (B, 5, 3) mm of the stacked coefficients (B, n_shape + n_expr)."""
        return self.joint_template + lbs.blend_shapes(coefficients, self.joint_directions)

    def pose_rest(
        self, rest: torch.Tensor, joints: torch.Tensor, pose: torch.Tensor, translation: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pose an unposed mesh: rest (B, V, 3), joints (B, 5, 3), pose (B, 5, 3) axis-angle rad,
        translation (B, 3) mm or None → vertices (B, V, 3) and posed joints (B, 5, 3), mm."""
        rotations = lbs.rodrigues(pose)  # (B, 5, 3, 3)
        rest = rest + lbs.blend_shapes(lbs.pose_features(rotations), self.posedirs)
        posed_joints, transforms = lbs.rigid_transforms(rotations, joints, self.parents)
        vertices = lbs.skin(rest, self.weights, transforms)
        if translation is not None:
            vertices = vertices + translation[:, None, :]
            posed_joints = posed_joints + translation[:, None, :]
        return vertices, posed_joints

    def forward(
        self,
        shape: torch.Tensor | None = None,
        expression: torch.Tensor | None = None,
        pose: torch.Tensor | None = None,
        translation: torch.Tensor | None = None,
        batch_size: int = 1,
    ) -> FlameOutput:
        """Pose the model.

        shape: (B, n_shape). expression: (B, n_expr). pose: (B, 5, 3) axis-angle in radians for
        [global, neck, jaw, eye_l, eye_r]. translation: (B, 3) mm. Any may be None (zeros);
        the batch size comes from the first given, else ``batch_size``.
        returns: FlameOutput with vertices (B, V, 3), landmarks (B, L, 3) or None, joints (B, 5, 3).
        """
        given = [t for t in (shape, expression, pose, translation) if t is not None]
        batch = given[0].shape[0] if given else batch_size
        like = self.v_template
        zeros = lambda *size: like.new_zeros(batch, *size)
        shape = zeros(self.n_shape) if shape is None else shape
        expression = zeros(self.n_expr) if expression is None else expression
        pose = zeros(N_JOINTS, 3) if pose is None else pose
        rest, joints = self.rest_shape(torch.cat([shape, expression], dim=1))
        vertices, posed_joints = self.pose_rest(rest, joints, pose, translation)
        landmarks = None
        if self.lmk_face_idx is not None:
            landmarks = lbs.barycentric_points(vertices, self.faces, self.lmk_face_idx, self.lmk_b_coords)
        return FlameOutput(vertices, landmarks, posed_joints)
