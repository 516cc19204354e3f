"""The detector's points calibrated on the synthetic model: rendered from the front, detected,
cast back onto the mesh (fer4d.landmarks.embedding), saved and loaded without pickles."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from fer4d.errors import InputFileError
from fer4d.flame import load_flame
from fer4d.flame.files import detector_embedding_path_for, load_detector_embedding
from fer4d.landmarks.embedding import FACE_OVAL, INNER_LIPS, IRISES, SURFACE_POINTS
from fer4d.synth.facemodel import make_synthetic_flame

# MediaPipe's outer and inner eye corners, mouth corners and nose tip, and the same points of
# the iBUG 68-point scheme that the synthetic model's own embedding follows
MEDIAPIPE_POINTS = [33, 133, 362, 263, 61, 291, 1]
IBUG_POINTS = [36, 39, 42, 45, 48, 54, 30]


def embedded(vertices, faces, face_idx, b_coords):
    return (vertices[faces[face_idx]] * b_coords[..., None]).sum(1)


def test_the_calibrated_embedding_lies_where_the_face_is(tmp_path):
    model_path = make_synthetic_flame(tmp_path / "synthetic.pkl")
    done = subprocess.run(
        [sys.executable, "-m", "fer4d.cli", "flame", "embed-detector", "--model", str(model_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = detector_embedding_path_for(model_path)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "model": str(model_path),
        "embedding": str(out),
        "points": len(SURFACE_POINTS),
    }
    face_idx, b_coords, indices = load_detector_embedding(out)
    assert indices.tolist() == SURFACE_POINTS.tolist()
    assert not set(indices) & set(FACE_OVAL + INNER_LIPS + IRISES) and indices.max() < 468
    assert np.all(b_coords >= -1e-9) and np.allclose(b_coords.sum(1), 1.0)
    model = load_flame(model_path)
    points = np.full((478, 3), np.nan)  # by detector point
    points[indices] = embedded(model.v_template, model.faces, face_idx, b_coords)
    own = embedded(model.v_template, model.faces, model.lmk_face_idx, model.lmk_b_coords)
    distance = np.linalg.norm(points[MEDIAPIPE_POINTS] - own[IBUG_POINTS], axis=1)
    print("calibrated vs the model's 68-point landmarks, mm:", distance.round(1).tolist())
    assert distance.max() < 6.0
    assert np.linalg.norm(points[33] - points[263]) == pytest.approx(np.linalg.norm(own[36] - own[45]), abs=2.0)
    assert points[1, 2] > model.v_template[:, 2].max() - 5.0  # the nose tip is at the front


def test_an_embedding_without_detector_indices_is_refused(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, lmk_face_idx=np.zeros(3, np.int64), lmk_b_coords=np.full((3, 3), 1 / 3))
    with pytest.raises(InputFileError, match="landmark_indices"):
        load_detector_embedding(path)
