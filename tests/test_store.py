"""The HDF5 store: round trip, atomicity, topology check, quality policies, folds, datasets."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fer4d import LABELS
from fer4d.errors import InputFileError
from fer4d.formats.fit import write_fit
from fer4d.store import (
    FoldOptions,
    FrameDataset,
    MeshStore,
    StoreOptions,
    build_store,
    fold_count,
    make_folds,
)
from fer4d.train.inputs import InputTransform
from model_helpers import template_model

FACES = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 4]], np.int32)
V = 5
TEMPLATE = np.arange(V * 3, dtype=np.float64).reshape(V, 3)
SHAPEDIRS = np.random.default_rng(7).normal(size=(V, 3, 6))


@pytest.fixture
def model(tmp_path):
    """A 5-vertex FLAME-format model whose template, faces and identity directions the store must use."""
    return template_model(tmp_path / "model.npz", TEMPLATE, FACES, SHAPEDIRS)


def fake_fit(path, subject, label, n_frames, seed, faces=FACES, flagged=None):
    rng = np.random.default_rng(seed)
    vertices = rng.normal(size=(n_frames, faces.max() + 1, 3)).astype(np.float32) * 10
    flagged = np.zeros(n_frames, bool) if flagged is None else np.asarray(flagged)
    arrays = {
        "vertices": vertices,
        "vertices_scan": vertices + 1,
        "faces": faces,
        "frame_index": np.arange(n_frames, dtype=np.int32),
        "params/shape": rng.normal(size=4).astype(np.float32),
        "params/expression": rng.normal(size=(n_frames, 3)).astype(np.float32),
        "params/pose": rng.normal(size=(n_frames, 5, 3)).astype(np.float32),
        "params/translation": rng.normal(size=(n_frames, 3)).astype(np.float32),
        "quality/residual_median_mm": rng.uniform(size=n_frames).astype(np.float32),
        "quality/flagged": flagged,
    }
    write_fit(path, arrays, subject, label, "ok")
    return vertices


@pytest.fixture
def fits(tmp_path, model):
    """4 subjects × 6 labels, 3–5 frames each; returns (paths, {key: vertices})."""
    paths, truth = [], {}
    for s in range(4):
        for l, label in enumerate(LABELS):
            path = tmp_path / "fit" / f"S{s}_{label}.h5"
            path.parent.mkdir(exist_ok=True)
            truth[f"S{s}__{label}"] = fake_fit(path, f"S{s}", label, 3 + (s + l) % 3, seed=10 * s + l)
            paths.append(path)
    return paths, truth


def build(tmp_path, paths, store=None, folds=None, subjects=None):
    out = tmp_path / "dataset.h5"
    store = store or StoreOptions()
    folds = folds or FoldOptions(k=2)
    model = tmp_path / "model.npz"
    report = build_store(paths, model, out, tmp_path / "report.json", store, folds, "abc123", 1, subjects)
    return out, report


def test_round_trip(tmp_path, fits):
    paths, truth = fits
    out, report = build(tmp_path, paths)
    assert report["kept_sequences"] == 24
    with MeshStore(out) as store:
        assert store.keys() == sorted(truth)
        assert store.labels == list(LABELS)
        np.testing.assert_array_equal(store.template_faces, FACES)
        for key, vertices in truth.items():
            np.testing.assert_array_equal(store.sequence(key), vertices)
            np.testing.assert_array_equal(store.frame(key, 1), vertices[1])
            info = store.info(key)
            assert (info.subject, info.label, info.n_frames) == (*key.split("__"), len(vertices))
            assert info.label_index == LABELS.index(info.label)
        # The template is the model's own mesh, not an average of the (test subjects') fits.
        np.testing.assert_array_equal(store.template_vertices, TEMPLATE.astype(np.float32))
        assert store.attrs["config_hash"] == "abc123"
    with h5py.File(out) as f:
        vertices = f["sequences/S0__anger/vertices"]
        assert vertices.chunks == (1, V, 3) and vertices.compression == "gzip"
        assert f["sequences/S0__anger/params/pose"].shape[1:] == (5, 3)


def test_empty_fit_is_skipped_and_recorded(tmp_path, fits):
    paths, _ = fits
    empty = tmp_path / "empty.h5"
    write_fit(empty, {"frame_index": np.zeros(0, np.int32)}, "S9", "anger", "empty")
    _out, report = build(tmp_path, [*paths, empty])
    assert report["kept_sequences"] == 24
    assert report["dropped_sequences"][0]["file"] == str(empty)


def test_topology_mismatch_names_the_file(tmp_path, fits):
    paths, _ = fits
    odd = tmp_path / "odd.h5"
    fake_fit(odd, "S9", "fear", 3, seed=5, faces=np.array([[0, 1, 2], [1, 2, 3]], np.int32))
    with pytest.raises(InputFileError, match="odd.h5.*topology"):
        build(tmp_path, [*paths, odd])
    assert not (tmp_path / "dataset.h5").exists()


def test_interrupted_write_leaves_no_store_and_keeps_an_old_one(tmp_path, fits):
    paths, _ = fits
    out, _ = build(tmp_path, paths)
    before = out.read_bytes()
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputFileError, match="broken.h5"):
        build(tmp_path, [*paths, broken])
    assert out.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dataset.h5")]


@pytest.mark.parametrize("policy", ["keep_all", "drop_flagged_frames", "drop_flagged_sequences"])
def test_quality_policies(tmp_path, fits, policy):
    paths, _ = fits
    bad = tmp_path / "bad.h5"
    fake_fit(bad, "S5", "anger", 4, seed=3, flagged=[True, True, True, False])
    half = tmp_path / "half.h5"
    half_vertices = fake_fit(half, "S5", "fear", 4, seed=4, flagged=[True, False, False, False])
    out, report = build(tmp_path, [*paths, bad, half], StoreOptions(quality_policy=policy))
    with MeshStore(out) as store:
        keys = set(store.keys())
        if policy == "keep_all":
            assert {"S5__anger", "S5__fear"} <= keys and not report["dropped_frames"]
        elif policy == "drop_flagged_frames":
            assert "S5__anger" not in keys  # one frame left < min_frames
            np.testing.assert_array_equal(store.sequence("S5__fear"), half_vertices[1:])
            assert store.info("S5__fear").n_frames == 3
            assert report["dropped_frames"][0]["frames"] == [0]
        else:
            assert "S5__anger" not in keys and "S5__fear" in keys
            assert "3/4 frames flagged" in report["dropped_sequences"][0]["reason"]
    assert json.loads((tmp_path / "report.json").read_text()) == report


def test_folds_are_subject_independent_and_cover_every_subject():
    subjects = [f"S{s}" for s in range(10) for _ in LABELS]
    labels = [label for _ in range(10) for label in LABELS]
    keys = [f"{s}__{l}" for s, l in zip(subjects, labels)]
    folds = make_folds(keys, subjects, labels, FoldOptions(k=5, val_fraction=0.25), seed=3)
    assert len(folds) == 5
    subject_of = dict(zip(keys, subjects))
    tested = []
    for fold in folds:
        split_subjects = [{subject_of[k] for k in getattr(fold, s)} for s in ("train", "val", "test")]
        assert not (
            split_subjects[0] & split_subjects[1]
            or split_subjects[0] & split_subjects[2]
            or split_subjects[1] & split_subjects[2]
        )
        assert set(fold.train) | set(fold.val) | set(fold.test) == set(keys)
        assert len(split_subjects[1]) >= 1
        tested += sorted(split_subjects[2])
        test_labels = [k.split("__")[1] for k in fold.test]
        assert {test_labels.count(label) for label in LABELS} == {2}  # stratified
    assert sorted(tested) == sorted(set(subjects))
    assert make_folds(keys, subjects, labels, FoldOptions(k=5), seed=3) == make_folds(
        keys, subjects, labels, FoldOptions(k=5), seed=3
    )
    assert make_folds(keys, subjects, labels, FoldOptions(k=5), seed=3) != make_folds(
        keys, subjects, labels, FoldOptions(k=5), seed=4
    )


def test_leave_one_subject_out():
    subjects = [f"S{s}" for s in range(4) for _ in range(2)]
    keys = [f"{s}__{i}" for i, s in enumerate(subjects)]
    folds = make_folds(keys, subjects, ["anger", "fear"] * 4, FoldOptions(scheme="loso"), seed=0)
    assert [sorted({k.split("__")[0] for k in f.test}) for f in folds] == [["S0"], ["S1"], ["S2"], ["S3"]]


def test_too_few_subjects_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 4 subjects"):
        make_folds(["a", "b"], ["S0", "S1"], ["anger", "fear"], FoldOptions(k=4), seed=0)


def test_folds_stored_and_read_back(tmp_path, fits):
    out, _ = build(tmp_path, fits[0])
    with MeshStore(out) as store:
        keys = store.keys()
        assert store.n_folds == 2
        assert (
            store.fold(0)
            == make_folds(
                keys,
                [store.info(k).subject for k in keys],
                [store.info(k).label for k in keys],
                FoldOptions(k=2),
                seed=1,
            )[0]
        )


def test_each_sequence_gets_its_neutral_mesh_and_the_model_no_regions(tmp_path, fits):
    out, _ = build(tmp_path, fits[0])
    with MeshStore(out) as store, h5py.File(fits[0][0]) as fit:
        key = "S0__anger"
        np.testing.assert_allclose(
            store.neutral(key), TEMPLATE + SHAPEDIRS[:, :, :4] @ fit["params/shape"][()], atol=1e-5
        )
        assert not np.allclose(store.neutral(key), store.neutral("S1__anger"))  # another fitted identity
        assert store.regions == {}  # the model has no 68-point landmark embedding


def test_input_statistics_use_only_the_given_keys(tmp_path, fits):
    out, _ = build(tmp_path, fits[0])
    truth = fits[1]
    train = ["S0__anger", "S1__fear"]
    stats = InputTransform.compute(out, train, "absolute", "per_vertex", 1e-3)
    frames = np.concatenate([truth[k] for k in train])
    np.testing.assert_allclose(stats.mean, frames.mean(0), atol=1e-4)
    np.testing.assert_allclose(stats.std, frames.std(0), rtol=1e-3)
    x = torch.from_numpy(frames[0])
    assert torch.allclose(stats.decode(stats.encode(x, 0), 0), x, atol=1e-4)


def test_datasets_are_worker_safe(tmp_path, fits):
    out, _ = build(tmp_path, fits[0])
    with MeshStore(out) as store:
        keys = store.keys()
        neutral = store.neutral(keys[0])
    frames = FrameDataset(out, keys)
    assert len(frames) == sum(len(v) for v in fits[1].values())
    serial = [torch.cat(items) for items in zip(*DataLoader(frames, batch_size=7))]
    parallel = [torch.cat(items) for items in zip(*DataLoader(frames, batch_size=7, num_workers=2))]
    assert all(torch.equal(a, b) for a, b in zip(serial, parallel))
    np.testing.assert_allclose(serial[0][0].numpy(), fits[1][keys[0]][0])
    assert serial[1][0] == 0 and serial[1][-1] == len(keys) - 1  # each frame's sequence position
    np.testing.assert_array_equal(frames.neutrals()[0], neutral)
    frames.store.close()  # a closed store reopens, with its datasets looked up afresh
    np.testing.assert_array_equal(frames[len(frames) - 1][0].numpy(), serial[0][-1].numpy())


def test_inspect_cli(tmp_path, fits, capsys):
    from fer4d.cli import main

    out, _ = build(tmp_path, fits[0])
    assert main(["store", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "24 sequences" in text and "anger 4" in text and "subjects (4): S0 S1 S2 S3" in text
    assert "fold 1: train" in text and "flagged frames: 0 of" in text


def test_loso_keeps_a_fold_for_a_subject_whose_sequences_were_all_dropped(tmp_path, fits):
    """The workflow plans one fold per discovered subject; the store must have exactly those."""
    paths, _ = fits
    empty = tmp_path / "empty.h5"
    write_fit(empty, {"frame_index": np.zeros(0, np.int32)}, "S9", "anger", "empty")
    planned = ["S0", "S1", "S2", "S3", "S9"]
    out, report = build(tmp_path, [*paths, empty], folds=FoldOptions(scheme="loso"), subjects=planned)
    assert report["subjects"] == ["S0", "S1", "S2", "S3"]
    assert fold_count(FoldOptions(scheme="loso"), planned) == 5
    with MeshStore(out) as store:
        assert store.n_folds == 5
        folds = [store.fold(i) for i in range(5)]  # every planned fold exists: no IndexError downstream
    assert [sorted({k.split("__")[0] for k in f.test}) for f in folds] == [["S0"], ["S1"], ["S2"], ["S3"], []]
    assert all(f.train and f.val for f in folds)
