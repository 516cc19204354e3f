"""Model files: restricted unpickling, chumpy with and without the package, units, npz."""

from __future__ import annotations

import os
import pickle
import sys

import numpy as np
import pytest
import scipy.sparse

from fer4d.errors import InputFileError
from fer4d.flame import FlameOptions, load_flame, load_landmark_embedding, save_flame_npz
from fer4d.flame.unpickle import ChumpyStub, chumpy_class

N_VERTICES = 12


class CallsOsSystem:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def flame_dict(rng, sparse_regressor: bool, chumpy_arrays: bool) -> dict:
    """A tiny FLAME-format dict in metres (4 identity + 3 expression columns)."""
    import chumpy as ch

    v_template = rng.uniform(-0.1, 0.1, size=(N_VERTICES, 3))
    weights = rng.uniform(size=(N_VERTICES, 5))
    regressor = np.zeros((5, N_VERTICES))
    regressor[np.arange(5), np.arange(5)] = 1.0
    shapedirs = rng.normal(scale=0.002, size=(N_VERTICES, 3, 7))
    posedirs = rng.normal(scale=0.001, size=(N_VERTICES, 3, 36))
    wrap = ch.array if chumpy_arrays else np.asarray
    return {
        "v_template": wrap(v_template),
        "f": np.array([[0, 1, 2], [2, 3, 4], [5, 6, 7]], dtype=np.uint32),
        "shapedirs": wrap(shapedirs),
        "posedirs": wrap(posedirs),
        "J_regressor": scipy.sparse.csc_matrix(regressor) if sparse_regressor else regressor,
        "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]]),
        "weights": wrap(weights / weights.sum(1, keepdims=True)),
        "bs_style": "lbs",
    }


def write_pickle(data, path):
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=2)
    return path


def test_pickle_calling_os_system_is_refused(tmp_path):
    path = write_pickle({"v_template": CallsOsSystem()}, tmp_path / "evil.pkl")
    with pytest.raises(InputFileError, match="refusing to load"):
        load_flame(path)


@pytest.mark.parametrize("without_chumpy", [False, True])
def test_chumpy_pickle_loads_with_and_without_chumpy(tmp_path, monkeypatch, without_chumpy):
    rng = np.random.default_rng(0)
    data = flame_dict(rng, sparse_regressor=True, chumpy_arrays=True)
    path = write_pickle(data, tmp_path / "generic_model.pkl")
    if without_chumpy:
        for name in [m for m in sys.modules if m == "chumpy" or m.startswith("chumpy.")]:
            monkeypatch.delitem(sys.modules, name)
        monkeypatch.setitem(sys.modules, "chumpy", None)
        monkeypatch.setitem(sys.modules, "chumpy.ch", None)
    assert (chumpy_class() is ChumpyStub) == without_chumpy
    model = load_flame(path, n_shape_total=4)
    np.testing.assert_allclose(model.v_template, np.asarray(data["v_template"]) * 1000.0)
    np.testing.assert_allclose(model.shapedirs, np.asarray(data["shapedirs"])[:, :, :4] * 1000)
    np.testing.assert_allclose(model.exprdirs, np.asarray(data["shapedirs"])[:, :, 4:] * 1000)
    np.testing.assert_allclose(model.posedirs, np.asarray(data["posedirs"]) * 1000)
    np.testing.assert_allclose(model.J_regressor, data["J_regressor"].toarray())
    assert model.faces.dtype == np.int32 and model.parents.tolist() == [-1, 0, 1, 1, 1]


def test_dense_and_sparse_regressors_load_the_same(tmp_path):
    models = []
    for sparse in (True, False):
        data = flame_dict(np.random.default_rng(5), sparse_regressor=sparse, chumpy_arrays=False)
        models.append(load_flame(write_pickle(data, tmp_path / f"m{sparse}.pkl")))
    np.testing.assert_array_equal(models[0].J_regressor, models[1].J_regressor)
    assert isinstance(models[1].J_regressor, np.ndarray)


def test_millimetre_files_are_not_scaled_and_bad_files_are_named(tmp_path):
    data = flame_dict(np.random.default_rng(1), sparse_regressor=False, chumpy_arrays=False)
    data["v_template"] = data["v_template"] * 1000.0
    model = load_flame(write_pickle(data, tmp_path / "mm.pkl"))
    np.testing.assert_allclose(model.v_template, data["v_template"])
    data["posedirs"] = data["posedirs"][:, :, :30]
    with pytest.raises(InputFileError, match="posedirs has shape"):
        load_flame(write_pickle(data, tmp_path / "short_posedirs.pkl"))
    del data["weights"]
    with pytest.raises(InputFileError, match="missing keys.*weights") as err:
        load_flame(write_pickle(data, tmp_path / "broken.pkl"))
    assert "broken.pkl" in str(err.value)
    with pytest.raises(InputFileError, match="not found"):
        load_flame(tmp_path / "absent.pkl")


def test_landmarks_and_npz_round_trip(tmp_path):
    data = flame_dict(np.random.default_rng(2), sparse_regressor=True, chumpy_arrays=True)
    model_path = write_pickle(data, tmp_path / "flame2023.pkl")
    face_idx = np.array([0, 2, 1, 2])
    b_coords = np.random.default_rng(3).dirichlet(np.ones(3), size=4)
    landmark_path = write_pickle(
        {"lmk_face_idx": face_idx, "lmk_b_coords": b_coords}, tmp_path / "flame_static_embedding.pkl"
    )
    loaded_idx, loaded_coords = load_landmark_embedding(landmark_path)
    np.testing.assert_array_equal(loaded_idx, face_idx)
    np.testing.assert_allclose(loaded_coords, b_coords)

    model = load_flame(model_path, n_shape_total=4, landmarks=landmark_path)
    npz = save_flame_npz(model, tmp_path / "flame.npz")
    again = load_flame(npz)
    for name in (
        "v_template",
        "faces",
        "shapedirs",
        "exprdirs",
        "posedirs",
        "J_regressor",
        "weights",
        "lmk_face_idx",
        "lmk_b_coords",
    ):
        np.testing.assert_array_equal(getattr(again, name), getattr(model, name))

    write_pickle({"lmk_face_idx": face_idx, "lmk_b_coords": b_coords[:2]}, landmark_path)
    with pytest.raises(InputFileError, match="lmk_b_coords"):
        load_landmark_embedding(landmark_path)


def test_flame_options_reject_unknown_keys():
    assert FlameOptions.from_dict({"model": "x.pkl"}).model == "x.pkl"
    assert FlameOptions.from_dict(None).model is None
    with pytest.raises(ValueError, match="unknown"):
        FlameOptions.from_dict({"landmarks": "lmk.pkl"})  # no stage uses one: not a config key
    with pytest.raises(ValueError, match="unknown flame option"):
        FlameOptions.from_dict({"modle": "x.pkl"})
