"""The synthetic face's skeleton: FLAME's 5 joints, skinning weights, joint regressor and
pose-corrective blendshapes (SMPL/FLAME conventions, Loper et al. 2015, Li et al. 2017)."""

from __future__ import annotations

import numpy as np

from fer4d.flame.model import N_POSE_FEATURES
from fer4d.synth.facemodel.geometry import MOUTH_HALF_WIDTH, MOUTH_Y, FaceMesh, gaussian, smooth_sign, smoothstep

JOINTS_MM = np.array(
    [
        [0.0, -112.0, 0.0],  # global: neck base
        [0.0, -100.0, -10.0],  # neck: head on neck
        [0.0, -30.0, 5.0],  # jaw hinge, level with the ear lobes
        [33.0, 2.0, 68.0],  # left eyeball centre
        [-33.0, 2.0, 68.0],  # right eyeball centre
    ]
)
ROOT_PARENT = 4294967295  # FLAME stores the root's parent as uint32(-1)
KINTREE_TABLE = np.array([[ROOT_PARENT, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64)
JAW_OPEN_FEATURE = 9 + 2 * 3 + 1
"""Index of (R_jaw - I)[2, 1] = sin(jaw opening) among the 36 pose features."""


def jaw_weights(mesh: FaceMesh) -> np.ndarray:
    """(V,) how much each vertex follows the jaw: the lower lip fully, chin and lower cheeks
    smoothly, nothing above the line from the mouth corners up to the jaw hinges."""
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    boundary = MOUTH_Y + np.maximum(np.abs(x) - 22.0, 0.0) * 0.8
    smooth = smoothstep((boundary - y) / 22.0)
    lips = np.where(mesh.lower_lip_side, 1.0, 0.0)
    towards_corner = smoothstep((np.abs(x) - 14.0) / 14.0)
    inside_mouth = np.abs(y - MOUTH_Y) < 15.0
    weights = np.where(inside_mouth, (1 - towards_corner) * lips + towards_corner * smooth, smooth)
    return weights * mesh.front


def skinning_weights(mesh: FaceMesh) -> np.ndarray:
    """(V, 5) weights: neck base → global joint, the head → neck joint, lower face → jaw."""
    y = mesh.vertices[:, 1]
    root = smoothstep((-105.0 - y) / 20.0) * (1 - jaw_weights(mesh))
    jaw = jaw_weights(mesh) * (1 - root)
    weights = np.zeros((len(y), 5))
    weights[:, 0], weights[:, 2] = root, jaw
    weights[:, 1] = 1.0 - root - jaw
    return weights


def joint_regressor(vertices: np.ndarray, joints: np.ndarray, width: float = 35.0) -> np.ndarray:
    """(J, V) regressor with ``regressor @ vertices == joints`` exactly, rows summing to 1.

    Per joint: the minimum-norm weights, under a Gaussian prior favouring vertices within
    ``width`` mm, that satisfy the 4 affine constraints (3 coordinates + sum to one);
    vertices with a negligible prior are left out (sparse, like FLAME's regressor).
    """
    regressor = np.zeros((len(joints), len(vertices)))
    for number, joint in enumerate(joints):
        prior = np.exp(-0.5 * (np.linalg.norm(vertices - joint, axis=1) / width) ** 2)
        chosen = np.flatnonzero(prior > 0.05 * prior.max())
        constraints = np.vstack([vertices[chosen].T, np.ones(len(chosen))])  # (4, K)
        target = np.append(joint, 1.0)
        scaled = constraints * prior[chosen]
        regressor[number, chosen] = prior[chosen] * (constraints.T @ np.linalg.solve(scaled @ constraints.T, target))
    return regressor


def pose_correctives(mesh: FaceMesh) -> np.ndarray:
    """(V, 3, 36) pose-corrective blendshapes: opening the jaw hollows the cheeks and pulls the
    lower lip back a little (mm per unit of sin(angle)); only where the jaw has weight."""
    x, y = mesh.vertices[:, 0], mesh.vertices[:, 1]
    correctives = np.zeros((len(x), 3, N_POSE_FEATURES))
    on_jaw = jaw_weights(mesh)
    cheeks = gaussian(x, y, 40, -50, 14, 14, mirror=True) * on_jaw
    lower_lip = gaussian(x, y, 0, -64, MOUTH_HALF_WIDTH * 0.7, 6) * on_jaw
    correctives[:, 2, JAW_OPEN_FEATURE] = -8.0 * cheeks - 4.0 * lower_lip
    correctives[:, 0, JAW_OPEN_FEATURE] = -3.0 * smooth_sign(x) * cheeks
    return correctives
