"""The fit of FLAME to 2D landmarks recovers known parameters from their projections, and
``fer4d fit`` takes a landmark file to the fit contract the store reads."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from fer4d.errors import InputFileError
from fer4d.fitting.landmark_stage import LANDMARK_QUALITY_KEYS, fit_landmark_file
from fer4d.fitting.landmarks import LandmarkFitOptions, face_sizes, fit_landmarks
from fer4d.flame import load_flame
from fer4d.flame.files import detector_embedding_path_for, save_detector_embedding
from fer4d.flame.layer import FlameLayer
from fer4d.formats.fit import read_fit, read_fit_header
from fer4d.formats.landmarks import LandmarkSequence, read_landmarks, write_landmarks
from fer4d.landmarks.embedding import calibrate_embedding
from fer4d.synth.facemodel import make_synthetic_flame

N_SHAPE, N_EXPR, N_FRAMES = 20, 10, 12
JUMPY = 1e-5
"""Smoothness for these sequences, whose head turns are drawn afresh every frame (a video's
are smooth, and the default, chosen on the synthetic films, would blur these jumps)."""


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
    fit = fit_landmarks(
        points, model, model.lmk_face_idx, model.lmk_b_coords, LandmarkFitOptions(N_SHAPE, N_EXPR, smoothness=JUMPY)
    )
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


def landmark_file(path, model, face_idx, b_coords, seed: int, invalid: tuple[int, ...]):
    """A landmark file as stage ``landmarks`` writes it: the embedded detector points of a known
    sequence, projected (3 px/mm), with ``invalid`` frames set to NaN as frames without a face."""
    rng = np.random.default_rng(seed)
    layer = FlameLayer(model, N_SHAPE, N_EXPR, dtype=torch.float64)
    pose = torch.zeros(N_FRAMES, 5, 3, dtype=torch.float64)
    pose[:, 0] = torch.tensor(rng.normal(size=(N_FRAMES, 3)) * 0.1)
    vertices = layer(
        torch.tensor(rng.normal(size=(1, N_SHAPE))).expand(N_FRAMES, -1),
        torch.tensor(np.cumsum(rng.normal(size=(N_FRAMES, N_EXPR)) * 0.3, 0)),
        pose,
    ).vertices.numpy()
    embedded = (vertices[:, model.faces[face_idx]] * b_coords[None, ..., None]).sum(2)  # (T, L, 3)
    points = np.concatenate([embedded[..., :2] * [3.0, -3.0] + [320, 240], embedded[..., 2:] * 3.0], -1)
    points += rng.normal(size=points.shape) * 0.5
    valid = np.ones(N_FRAMES, bool)
    valid[list(invalid)] = False
    points[~valid] = np.nan
    sequence = LandmarkSequence(
        "S001",
        "happiness",
        points.astype(np.float32),
        valid,
        np.where(valid, 0.9, 0.0).astype(np.float32),
        (480, 640),
        [f"img_{t:04d}.jpg" for t in range(N_FRAMES)],
        "mediapipe 0.10.14 face_mesh, 478 points",
    )
    write_landmarks(path, sequence)
    return path


def run_fit_cli(landmarks, model_path, out):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fer4d.cli",
            "fit",
            str(landmarks),
            "--model",
            str(model_path),
            "--out",
            str(out),
            "--options",
            json.dumps({"n_shape": N_SHAPE, "n_expr": N_EXPR, "smoothness": JUMPY}),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_fer4d_fit_takes_a_landmark_file_to_the_fit_contract(tmp_path):
    model_path = make_synthetic_flame(tmp_path / "synthetic.pkl")
    model = load_flame(model_path)
    face_idx, b_coords, _ = calibrate_embedding(model.v_template, model.faces)
    landmarks = landmark_file(tmp_path / "l.h5", model, face_idx, b_coords, seed=2, invalid=(4,))

    missing = run_fit_cli(landmarks, model_path, tmp_path / "fit.h5")
    assert missing.returncode == 2 and "synthetic_mediapipe.npz: missing" in missing.stderr, missing.stderr
    save_detector_embedding(detector_embedding_path_for(model_path), face_idx, b_coords, np.arange(len(face_idx)))

    done = run_fit_cli(landmarks, model_path, tmp_path / "fit.h5")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "ok" and summary["n_frames"] == N_FRAMES - 1
    assert summary["landmark_residual_iod"] < 0.05
    fit = read_fit(tmp_path / "fit.h5", with_scan=True)
    assert fit.frame_index.tolist() == [t for t in range(N_FRAMES) if t != 4]
    assert fit.vertices.shape == (N_FRAMES - 1, model.n_vertices, 3)
    assert set(fit.quality) == set(LANDMARK_QUALITY_KEYS)
    assert fit.params["camera"].shape == (N_FRAMES - 1, 3)
    np.testing.assert_allclose(fit.params["camera"][:, 0], 3.0, rtol=0.1)
    # the posed meshes through the camera land on the detections: the contract the overlay uses
    s, tx, ty = fit.params["camera"][0]
    projected = fit.vertices_scan[0] @ np.diag([s, -s, 0])[:, :2] + [tx, ty]
    observed = read_landmarks(landmarks).points[0, :, :2]
    on_mesh = (projected[model.faces[face_idx]] * b_coords[..., None]).sum(1)
    assert np.median(np.linalg.norm(on_mesh - observed, axis=1)) < 3.0
    assert len(fit.keep(np.arange(3)).params["camera"]) == 3  # a per-frame parameter


def test_a_landmark_file_with_one_face_becomes_an_empty_fit(tmp_path):
    model_path = make_synthetic_flame(tmp_path / "synthetic.pkl")
    model = load_flame(model_path)
    face_idx, b_coords, _ = calibrate_embedding(model.v_template, model.faces)
    save_detector_embedding(detector_embedding_path_for(model_path), face_idx, b_coords, np.arange(len(face_idx)))
    landmarks = landmark_file(tmp_path / "l.h5", model, face_idx, b_coords, seed=3, invalid=tuple(range(1, N_FRAMES)))
    summary = fit_landmark_file(landmarks, model_path, tmp_path / "fit.h5")
    assert summary["status"] == "empty" and "only 1 frame(s) with a face" in summary["reason"]
    assert read_fit(tmp_path / "fit.h5") is None
    assert read_fit_header(tmp_path / "fit.h5").reason == summary["reason"]
    with pytest.raises(InputFileError, match="only 1 frame"):
        fit_landmark_file(landmarks, model_path, tmp_path / "strict.h5", strict=True)
