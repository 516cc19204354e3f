"""The synthetic FLAME-format model: file format, rig, anatomy of components, emotions, CLI."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from fer4d import LABELS
from fer4d.cli import main
from fer4d.flame import FlameLayer, load_flame
from fer4d.flame.files import FLAME_KEYS, load_detector_embedding
from fer4d.flame.regions import face_region
from fer4d.landmarks.embedding import SURFACE_POINTS
from fer4d.synth.emotions import emotion_prototypes
from fer4d.synth.facemodel import EXPRESSION_COMPONENTS, make_synthetic_flame
from fer4d.synth.facemodel.rig import JOINTS_MM

UPPER_INNER_LIP, LOWER_INNER_LIP = 62, 66
BROW_POINTS = list(range(17, 27))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return make_synthetic_flame(tmp_path_factory.mktemp("synthetic") / "model.pkl")


@pytest.fixture(scope="module")
def model(model_path):
    return load_flame(model_path)


def apex(model, expression=None, jaw=0.0):
    """Vertices (V, 3) and landmarks (L, 3) mm for expression coefficients and jaw angle."""
    layer = FlameLayer(model, n_shape=0, n_expr=len(EXPRESSION_COMPONENTS), dtype=torch.float64)
    coefficients = torch.zeros(1, len(EXPRESSION_COMPONENTS), dtype=torch.float64)
    if expression is not None:
        coefficients[0] = torch.as_tensor(expression)
    pose = torch.zeros(1, 5, 3, dtype=torch.float64)
    pose[0, 2, 0] = jaw
    out = layer(expression=coefficients, pose=pose)
    return out.vertices[0].numpy(), out.landmarks[0].numpy()


def unit(name):
    coefficients = np.zeros(len(EXPRESSION_COMPONENTS))
    coefficients[EXPRESSION_COMPONENTS.index(name)] = 1.0
    return coefficients


def test_file_has_flames_keys_in_metres(model_path, model):
    with open(model_path, "rb") as handle:
        raw = pickle.load(handle)
    assert set(raw) == set(FLAME_KEYS)
    assert raw["shapedirs"].shape == (1500, 3, 400) and raw["posedirs"].shape == (1500, 3, 36)
    assert type(raw["J_regressor"]).__name__.startswith("csc")
    height_m = np.ptp(raw["v_template"][:, 1])
    assert 0.15 <= height_m <= 0.25
    np.testing.assert_allclose(model.v_template, raw["v_template"] * 1000.0)
    assert model.n_vertices == 1500 and model.lmk_face_idx.shape == (68,)
    assert 12 <= np.count_nonzero(np.abs(model.exprdirs).max(axis=(0, 1))) <= 100
    assert 20 <= np.count_nonzero(np.abs(model.shapedirs).max(axis=(0, 1))) <= 50


def test_rig_is_consistent(model):
    np.testing.assert_allclose(model.J_regressor @ model.v_template, JOINTS_MM, atol=1e-6)
    np.testing.assert_allclose(model.weights.sum(axis=1), 1.0, atol=1e-9)
    assert model.weights.min() >= 0.0
    lower_face = model.v_template[:, 1] < -80
    assert model.weights[lower_face, 2].mean() > 0.5  # the chin follows the jaw
    assert model.weights[model.v_template[:, 1] > -20, 2].max() == 0.0


def test_same_seed_same_model_other_seed_other_identities(tmp_path):
    first = load_flame(make_synthetic_flame(tmp_path / "a.pkl", n_vertices=400, seed=3))
    again = load_flame(make_synthetic_flame(tmp_path / "b.pkl", n_vertices=400, seed=3))
    other = load_flame(make_synthetic_flame(tmp_path / "c.pkl", n_vertices=400, seed=4))
    for name in ("v_template", "shapedirs", "exprdirs", "posedirs", "J_regressor", "weights"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    np.testing.assert_array_equal(first.v_template, other.v_template)
    assert np.abs(first.shapedirs - other.shapedirs).max() > 0.5


def test_flame_resolution_is_exact(tmp_path):
    model = load_flame(make_synthetic_flame(tmp_path / "flame.pkl", n_vertices=5023))
    assert model.n_vertices == 5023


def test_expression_components_are_anatomical(model):
    _rest_vertices, rest = apex(model)
    _, brows = apex(model, unit("brow_raise_left") + unit("brow_raise_right"))
    lift = (brows - rest)[BROW_POINTS, 1]
    assert 4.0 < lift.mean() < 9.0
    _, lowered = apex(model, unit("brow_lower"))
    assert (lowered - rest)[BROW_POINTS, 1].mean() < -2.0
    _, opened = apex(model, unit("mouth_open"))
    assert opened[UPPER_INNER_LIP, 1] - opened[LOWER_INNER_LIP, 1] > 4.0
    _, smile = apex(model, unit("lip_corner_pull_left"))
    assert smile[54, 1] - rest[54, 1] > 3.0 and abs(smile[48, 1] - rest[48, 1]) < 0.5
    np.testing.assert_allclose(rest[UPPER_INNER_LIP], rest[LOWER_INNER_LIP], atol=1e-6)


def test_jaw_rotation_opens_the_mouth(model):
    _, rest = apex(model)
    _, open_jaw = apex(model, jaw=0.25)
    gap = open_jaw[UPPER_INNER_LIP, 1] - open_jaw[LOWER_INNER_LIP, 1]
    assert gap > 8.0
    assert abs(open_jaw[UPPER_INNER_LIP, 1] - rest[UPPER_INNER_LIP, 1]) < 0.5


def test_emotion_prototypes_are_mixtures_with_the_intended_similarities(model):
    prototypes = emotion_prototypes()
    assert tuple(prototypes) == LABELS
    displacement = {}
    rest_vertices, _ = apex(model)
    for label, prototype in prototypes.items():
        assert prototype.expression.shape == (len(EXPRESSION_COMPONENTS),)
        assert np.count_nonzero(prototype.expression) >= 3
        vertices, _ = apex(model, prototype.expression, prototype.jaw)
        displacement[label] = (vertices - rest_vertices).ravel()

    def distance(a, b):
        return np.linalg.norm(displacement[a] - displacement[b])

    assert distance("fear", "surprise") < distance("fear", "happiness")
    assert distance("anger", "disgust") < distance("anger", "happiness")
    assert distance("anger", "disgust") < distance("anger", "surprise")
    sizes = {label: np.linalg.norm(d) for label, d in displacement.items()}
    assert min(sizes, key=sizes.get) == "sadness"


def test_cli_synth_and_info(tmp_path, capsys):
    path = tmp_path / "cli.pkl"
    assert main(["flame", "synth", "--out", str(path), "--vertices", "500", "--seed", "1"]) == 0
    capsys.readouterr()
    # the detector's points calibrated beside the model, so a landmark file can be fitted with it
    assert len(load_detector_embedding(tmp_path / "cli_mediapipe.npz")[0]) == len(SURFACE_POINTS)
    assert main(["flame", "info", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["file_units"] == "m" and info["landmarks"] == 68
    assert info["expression_components_nonzero"] == len(EXPRESSION_COMPONENTS)
    assert abs(info["vertices"] - 500) <= 10
    assert main(["flame", "to-npz", str(path), str(tmp_path / "cli.npz")]) == 0
    assert main(["flame", "info", str(tmp_path / "cli.npz")]) == 0
    assert main(["flame", "info", str(tmp_path / "missing.pkl")]) == 2


def test_face_region_is_the_front_of_the_face(model):
    region = face_region(model)
    assert 0.5 < region.mean() < 0.95
    assert not region[model.v_template[:, 2] < 0].any()  # nothing behind the ears
    assert region[model.faces[model.lmk_face_idx[17:]]].all()  # brows, eyes, nose, mouth
