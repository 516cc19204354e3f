"""The fit of FLAME to 2D landmarks recovers known parameters from their projections."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fer4d.fitting.landmarks import LandmarkFitOptions, face_sizes, fit_landmarks
from fer4d.flame import load_flame
from fer4d.flame.layer import FlameLayer
from fer4d.synth.facemodel import make_synthetic_flame

N_SHAPE, N_EXPR, N_FRAMES = 20, 10, 12


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_flame(make_synthetic_flame(tmp_path_factory.mktemp("model") / "synthetic.pkl"))


def projected_sequence(model, seed: int, noise_px: float = 0.5):
    """A sequence of known FLAME parameters (identity, drifting expression, head turns of ~6°,
    an opening jaw) seen by a weak-perspective camera (3 px/mm); its 68 landmarks with pixel noise."""
    rng = np.random.default_rng(seed)
    layer = FlameLayer(model, N_SHAPE, N_EXPR, dtype=torch.float64)
    shape = torch.tensor(rng.normal(size=N_SHAPE))
    expression = torch.tensor(np.cumsum(rng.normal(size=(N_FRAMES, N_EXPR)) * 0.3, 0))
    pose = torch.zeros(N_FRAMES, 5, 3, dtype=torch.float64)
    pose[:, 0] = torch.tensor(rng.normal(size=(N_FRAMES, 3)) * 0.1)
    pose[:, 2, 0] = torch.tensor(np.abs(rng.normal(size=N_FRAMES)) * 0.1)
    landmarks = layer(shape.expand(N_FRAMES, -1), expression, pose).landmarks.numpy()
    points = np.stack([3.0 * landmarks[..., 0] + 128, -3.0 * landmarks[..., 1] + 140], -1)
    points += rng.normal(size=points.shape) * noise_px
    unposed = pose.clone()
    unposed[:, 0] = 0.0
    truth = layer(shape.expand(N_FRAMES, -1), expression, unposed).vertices.numpy()
    neutral = layer(shape[None]).vertices.numpy()
    return points, truth, neutral, layer


def test_the_fit_reprojects_the_landmarks_and_recovers_the_expression(model):
    points, truth, neutral, layer = projected_sequence(model, seed=1)
    fit = fit_landmarks(points, model, model.lmk_face_idx, model.lmk_b_coords, LandmarkFitOptions(N_SHAPE, N_EXPR))
    assert fit.vertices.shape == truth.shape and fit.projected.shape == points.shape
    np.testing.assert_allclose(fit.face_size_px, face_sizes(points), rtol=1e-6)
    median_px = float(np.median(fit.residual_px))
    np.testing.assert_allclose(np.linalg.norm(fit.projected - points, axis=-1), fit.residual_px, atol=1e-3)
    np.testing.assert_allclose(fit.camera[:, 0], 3.0, rtol=0.1)  # px per mm
    fitted_neutral = layer(torch.tensor(fit.shape, dtype=torch.float64)[None]).vertices.numpy()
    displacement_error = np.linalg.norm((fit.vertices - fitted_neutral) - (truth - neutral), axis=-1).mean()
    no_fit_error = np.linalg.norm(truth - neutral, axis=-1).mean()  # what a zero expression misses
    vertex_error = np.linalg.norm(fit.vertices - truth, axis=-1).mean()
    print(
        f"landmark fit: reprojection median {median_px:.2f} px of a {fit.face_size_px.mean():.0f} px face "
        f"(noise 0.5 px per axis); expression displacement error {displacement_error:.2f} mm "
        f"(zero expression: {no_fit_error:.2f} mm); vertex error {vertex_error:.2f} mm"
    )
    assert median_px < 2.5
    assert displacement_error < 0.5 * no_fit_error
    assert vertex_error < 4.0
