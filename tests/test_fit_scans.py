"""Small synthetic scan sequences for the fitting tests (and tests of that simulator).

A frame's scan is the front of the posed model mesh, subdivided once (edge midpoints, so the
points lie on the surface but not on the model's vertices), with noise along the normals,
round holes, spikes, and a rigid scanner transform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from fer4d.fitting.geometry import vertex_normals
from fer4d.flame.files import load_flame
from fer4d.flame.layer import FlameLayer
from fer4d.flame.model import FlameModel
from fer4d.synth.facemodel import make_synthetic_flame

N_SHAPE, N_EXPR = 10, 10


@dataclass
class ScanSequence:
    """frames: per frame (points (N, 3) float32 mm, faces (F, 3) int32) in the scan frame;
    truth: (T, V, 3) mm model vertices in the scan frame; canonical: (T, V, 3) without head motion
    and scanner transform; scan_to_model: (4, 4); params: the true shape (N_SHAPE,),
    expression (T, N_EXPR), pose (T, 5, 3), translation (T, 3) in the model frame."""

    frames: list[tuple[np.ndarray, np.ndarray]]
    truth: np.ndarray
    canonical: np.ndarray
    scan_to_model: np.ndarray
    params: dict[str, np.ndarray]
    scale: float


def subdivide(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split every triangle into four at its edge midpoints."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    mid = len(vertices) + inverse.reshape(3, -1).T  # (F, 3): midpoints of edges 01, 12, 20
    points = np.concatenate([vertices, vertices[unique].mean(axis=1)])
    a, b, c = faces.T
    ab, bc, ca = mid.T
    new_faces = np.concatenate([np.stack(t, 1) for t in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
    return points, new_faces


def front_faces(model: FlameModel) -> np.ndarray:
    """Model triangles a frontal scanner sees: facing +z, in front of the head's middle."""
    normals = vertex_normals(torch.as_tensor(model.v_template), torch.as_tensor(model.faces, dtype=torch.long))
    visible = (normals[:, 2].numpy() > 0.2) & (model.v_template[:, 2] > np.median(model.v_template[:, 2]))
    return model.faces[visible[model.faces].all(axis=1)]


def remove_points(points, faces, keep):
    index = np.cumsum(keep) - 1
    faces = faces[keep[faces].all(axis=1)]
    return points[keep], index[faces]


def simulate(
    model: FlameModel,
    n_frames: int,
    rng: np.random.Generator,
    noise_mm: float = 0.2,
    hole_fraction: float = 0.0,
    outlier_fraction: float = 0.0,
    scale: float = 1.0,
    rotation: np.ndarray | None = None,
    translation: np.ndarray | None = None,
    jaw: float = 0.08,
) -> ScanSequence:
    """A random identity making a smooth expression with small head motion, scanned.

    ``scale`` multiplies the written scans (0.001: metres). Without ``rotation`` the scanner
    pose is random (any yaw, ±15° tilt, 200-800 mm away).
    """
    layer = FlameLayer(model, N_SHAPE, N_EXPR)
    ramp = np.sin(np.linspace(0, np.pi / 2, n_frames))[:, None]
    shape = np.repeat(rng.normal(size=(1, N_SHAPE)), n_frames, 0)
    expression = ramp * rng.normal(scale=1.0, size=(1, N_EXPR))
    pose = np.zeros((n_frames, 5, 3))
    pose[:, 0] = ramp * rng.normal(scale=0.05, size=3)
    pose[:, 2, 0] = ramp[:, 0] * jaw
    head_translation = ramp * rng.normal(scale=2.0, size=3)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)
    with torch.no_grad():
        posed = layer(t(shape), t(expression), t(pose), t(head_translation)).vertices.double().numpy()
        still = pose.copy()
        still[:, 0] = 0
        canonical = layer(t(shape), t(expression), t(still)).vertices.numpy()
    if rotation is None:
        rotation = Rotation.from_euler("xzy", [*rng.uniform(-0.26, 0.26, 2), rng.uniform(-np.pi, np.pi)]).as_matrix()
    if translation is None:
        direction = rng.normal(size=3)
        translation = direction / np.linalg.norm(direction) * rng.uniform(200, 800)
    faces = front_faces(model)
    frames, truth = [], []
    for vertices in posed:
        points, scan_faces = subdivide(vertices, faces)
        used = np.zeros(len(points), bool)
        used[scan_faces] = True
        points, scan_faces = remove_points(points, scan_faces, used)
        normals = vertex_normals(torch.as_tensor(points), torch.as_tensor(scan_faces, dtype=torch.long)).numpy()
        points = points + normals * rng.normal(scale=noise_mm, size=(len(points), 1))
        keep = np.ones(len(points), bool)
        while 1 - keep.mean() < hole_fraction:
            centre = points[rng.integers(len(points))]
            keep &= np.linalg.norm(points - centre, axis=1) > 8.0
        spikes = rng.random(len(points)) < outlier_fraction
        points[spikes] += (
            normals[spikes] * rng.uniform(5, 25, (spikes.sum(), 1)) * rng.choice([-1, 1], (spikes.sum(), 1))
        )
        points, scan_faces = remove_points(points, scan_faces, keep)
        frames.append((((points @ rotation.T + translation) * scale).astype(np.float32), scan_faces.astype(np.int32)))
        truth.append(vertices @ rotation.T + translation)
    scan_to_model = np.eye(4)
    scan_to_model[:3, :3] = rotation.T
    scan_to_model[:3, 3] = -rotation.T @ translation
    params = {"shape": shape[0], "expression": expression, "pose": pose, "translation": head_translation}
    return ScanSequence(frames, np.asarray(truth, np.float32), canonical, scan_to_model, params, scale)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> FlameModel:
    path = tmp_path_factory.mktemp("flame") / "model.pkl"
    make_synthetic_flame(path, 1000, 0)
    return load_flame(path)


def test_subdivide_puts_points_on_edge_midpoints():
    vertices = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0]], float)
    points, faces = subdivide(vertices, np.array([[0, 1, 2]]))
    assert len(points) == 6 and faces.shape == (4, 3)
    assert {tuple(p) for p in points[3:]} == {(1, 0, 0), (1, 1, 0), (0, 1, 0)}
    area = lambda f: (
        0.5 * np.linalg.norm(np.cross(points[f[:, 1]] - points[f[:, 0]], points[f[:, 2]] - points[f[:, 0]]), axis=1)
    )
    np.testing.assert_allclose(area(faces), 0.5)


def test_simulated_scans_have_holes_and_truth_in_scan_frame(small_model):
    clean = simulate(small_model, 2, np.random.default_rng(0), noise_mm=0.0)
    holey = simulate(small_model, 2, np.random.default_rng(0), noise_mm=0.0, hole_fraction=0.2)
    assert len(holey.frames[0][0]) <= 0.8 * len(clean.frames[0][0])
    # noise-free scan points lie on the true surface: original vertices coincide with truth
    from scipy.spatial import cKDTree

    distance, _ = cKDTree(clean.truth[0]).query(clean.frames[0][0])
    assert np.min(distance) < 1e-3
