"""The synthetic model's identity space reaches adult face proportions: ±2 SD of Farkas' norms of
five measures are each within three units of the unit-variance shape prior (fer4d.synth.facemodel).

Norms: Farkas, Anthropometry of the Head and Face (1994), North American adults, the mean of the
men's and women's means and SDs (mm). The measures are taken between the model's own 68-point
landmarks (iBUG order): outer and inner eye corners, the nose's outermost points, the mouth
corners, nasion to chin.
"""

from __future__ import annotations

import numpy as np
import pytest

from fer4d.flame import load_flame
from fer4d.synth.face import MAX_SHAPE
from fer4d.synth.facemodel import make_synthetic_flame

NORMS = {  # measure: (landmark a, landmark b, mean mm, SD mm)
    "biocular width ex-ex": (36, 45, 89.5, 3.2),
    "intercanthal width en-en": (39, 42, 32.5, 2.5),
    "nose width al-al": (31, 35, 33.0, 2.1),
    "mouth width ch-ch": (48, 54, 52.3, 3.4),
    "face height n-gn": (27, 8, 117.0, 6.1),
}
PRIOR_UNITS = 3.0


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_flame(make_synthetic_flame(tmp_path_factory.mktemp("model") / "synthetic.pkl"))


def landmarks(model, coefficients: np.ndarray) -> np.ndarray:
    k = len(coefficients)
    vertices = model.v_template + model.shapedirs[:, :, :k] @ coefficients
    return (vertices[model.faces[model.lmk_face_idx]] * model.lmk_b_coords[..., None]).sum(1)


@pytest.mark.parametrize("name", NORMS)
def test_two_sd_of_each_measure_is_within_the_shape_prior(model, name):
    a, b, mean, sd = NORMS[name]
    n_identity = int((np.abs(model.shapedirs).reshape(-1, model.shapedirs.shape[2]).max(0) > 0).sum())
    measure = lambda beta: float(np.linalg.norm(np.subtract(*landmarks(model, beta)[[a, b]])))
    zero = np.zeros(n_identity)
    gradient = np.array([measure(np.eye(n_identity)[k]) - measure(zero) for k in range(n_identity)])
    for target in (mean - 2 * sd, mean + 2 * sd):
        beta = (target - measure(zero)) * gradient / gradient.dot(gradient)  # the least-norm change
        for _ in range(3):  # Newton steps along the gradient: the measure is a distance, nearly linear
            beta += (target - measure(beta)) * gradient / gradient.dot(gradient)
        assert measure(beta) == pytest.approx(target, abs=0.2)
        assert np.abs(beta).max() <= PRIOR_UNITS and np.linalg.norm(beta) <= PRIOR_UNITS, (name, target)


def test_the_synthetic_subjects_keep_their_identity_space(model):
    """The components added for real faces come after the ones the subjects are drawn from."""
    used = np.abs(model.shapedirs).reshape(-1, model.shapedirs.shape[2]).max(0) > 0
    assert used[:MAX_SHAPE].all() and used[: MAX_SHAPE + 4].all() and not used[MAX_SHAPE + 4 :].any()
