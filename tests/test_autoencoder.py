"""Spiral convolution, the auto-encoder, its resumable training, and embeddings."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from fer4d import LABELS
from fer4d.flame import FlameLayer, load_flame
from fer4d.formats.fit import write_fit
from fer4d.formats.hierarchy import read_hierarchy, write_hierarchy
from fer4d.mesh import HierarchyOptions, build_hierarchy
from fer4d.models.spiral import SpiralAutoencoder, SpiralConv
from fer4d.store import FoldOptions, StoreOptions, build_store
from fer4d.synth.facemodel import make_synthetic_flame
from fer4d.train.autoencoder import AutoencoderOptions, train_autoencoder
from fer4d.train.embed import embed_fold, encode_frames, load_encoder
from fer4d.train.hierarchy import build_hierarchy_file


@pytest.mark.parametrize("in_channels,out_channels", [(2, 4), (5, 2)])  # gather first / transform first
def test_spiral_conv_equals_an_explicit_loop(in_channels, out_channels):
    torch.manual_seed(0)
    indices = torch.tensor([[0, 1, 2], [1, 2, 0], [2, 0, 0], [3, 2, 1]])
    conv = SpiralConv(in_channels, out_channels, indices)
    assert conv.transform_first == (out_channels < in_channels)
    x = torch.randn(3, 4, in_channels)
    expected = torch.empty(3, 4, out_channels)
    for b in range(3):
        for v in range(4):
            features = torch.cat([x[b, int(i)] for i in indices[v]])
            expected[b, v] = conv.linear.weight @ features + conv.linear.bias
    torch.testing.assert_close(conv(x), expected)


@pytest.fixture(scope="module")
def small_model_path(tmp_path_factory):
    return make_synthetic_flame(tmp_path_factory.mktemp("model") / "m.pkl", n_vertices=600, seed=1)


@pytest.fixture(scope="module")
def small_model(small_model_path):
    return load_flame(small_model_path)


def test_tiny_autoencoder_overfits_a_handful_of_meshes(small_model):
    torch.manual_seed(0)
    layer = FlameLayer(small_model, n_shape=10, n_expr=10)
    with torch.no_grad():
        meshes = layer(shape=torch.randn(6, 10), expression=torch.randn(6, 10) * 2).vertices
    hierarchy = build_hierarchy(small_model.v_template, small_model.faces, HierarchyOptions(factors=(4, 4)))
    model = SpiralAutoencoder.from_hierarchy(hierarchy, filters=(16, 32), latent=16)
    mean, std = meshes.mean(0), meshes.std(0).clamp_min(0.1)
    x = (meshes - mean) / std
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(400):
        loss = (model(x) - x).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    error_mm = ((model(x) * std + mean) - meshes).norm(dim=-1).mean()
    assert error_mm < 1.0, f"{error_mm:.3f} mm"


@pytest.fixture(scope="module")
def store(tmp_path_factory, small_model, small_model_path):
    """3 subjects × 6 labels of 4 frames each, posed with the FLAME layer; store + hierarchy."""
    root = tmp_path_factory.mktemp("ae")
    layer = FlameLayer(small_model, n_shape=10, n_expr=10)
    rng = torch.Generator().manual_seed(0)
    paths = []
    for s in range(3):
        shape = torch.randn(1, 10, generator=rng).expand(4, 10)
        for label in LABELS:
            with torch.no_grad():
                vertices = layer(shape=shape, expression=torch.randn(4, 10, generator=rng)).vertices.numpy()
            path = root / f"S{s}_{label}.h5"
            write_fit(
                path,
                {"vertices": vertices, "faces": small_model.faces, "frame_index": np.arange(4, dtype=np.int32)},
                f"S{s}",
                label,
                "ok",
            )
            paths.append(path)
    build_store(
        paths,
        small_model_path,
        root / "dataset.h5",
        root / "report.json",
        StoreOptions(),
        FoldOptions(k=3),
        "h",
        seed=0,
    )
    build_hierarchy_file(root / "dataset.h5", root / "hierarchy.npz", HierarchyOptions(factors=(4, 4)))
    return root


def train(store, out, epochs, resume="resume"):
    options = AutoencoderOptions(filters=(8, 16), latent=8, epochs=epochs, batch_size=8)
    return train_autoencoder(
        store / "dataset.h5",
        store / "hierarchy.npz",
        0,
        out / "ae.pt",
        out / "metrics.json",
        out / resume,
        options,
        device="cpu",
        seed=3,
    )


def test_training_writes_metrics_and_resumes_identically(store, tmp_path):
    full = train(store, tmp_path / "full", epochs=3)
    assert [h["epoch"] for h in full["history"]] == [1, 2, 3]
    assert full["test_euclidean_mm"] > 0 and full["frames"] == {"train": 24, "val": 24, "test": 24}
    assert json.loads((tmp_path / "full" / "metrics.json").read_text())["best_epoch"] == full["best_epoch"]
    part = tmp_path / "part"
    train(store, part, epochs=2)  # "interrupted" after two epochs ...
    (part / "ae.pt").unlink()  # ... and its declared outputs deleted, as Snakemake does
    resumed = train(store, part, epochs=3)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    assert resumed["history"] == full["history"]  # same numbers as an uninterrupted run
    assert resumed["test_euclidean_mm"] == pytest.approx(full["test_euclidean_mm"])


def test_embeddings_cover_every_sequence_with_its_split(store, tmp_path):
    train(store, tmp_path, epochs=1)
    embed_fold(store / "dataset.h5", store / "hierarchy.npz", tmp_path / "ae.pt", 0, tmp_path / "emb.h5", "cpu")
    with h5py.File(tmp_path / "emb.h5") as f, h5py.File(store / "dataset.h5") as s:
        assert f.attrs["latent_size"] == 8 and f.attrs["fold"] == 0
        assert set(f["sequences"]) == set(s["sequences"])
        splits = {k: f[f"sequences/{k}"].attrs["split"] for k in f["sequences"]}
        test_keys = {k.decode() for k in s["folds/0/test"][()]}
        assert {k for k, v in splits.items() if v == "test"} == test_keys
        key = sorted(test_keys)[0]
        assert f[f"sequences/{key}/embedding"].shape == (4, 8)
        encoder = load_encoder(tmp_path / "ae.pt", store / "hierarchy.npz", "cpu")
        again = encode_frames(encoder, s[f"sequences/{key}/vertices"][()], s[f"sequences/{key}/neutral"][()])
        np.testing.assert_allclose(again, f[f"sequences/{key}/embedding"][()], atol=1e-5)


def test_a_checkpoint_for_another_hierarchy_is_refused(store, tmp_path):
    train(store, tmp_path, epochs=1)
    other = build_hierarchy(
        read_hierarchy(store / "hierarchy.npz").vertices[0],
        read_hierarchy(store / "hierarchy.npz").faces[0],
        HierarchyOptions(factors=(3, 3)),
    )
    write_hierarchy(tmp_path / "other.npz", other)
    with pytest.raises(ValueError, match="another mesh hierarchy"):
        load_encoder(tmp_path / "ae.pt", tmp_path / "other.npz", "cpu")


def test_spiral_benchmark_references_match_ours():
    from fer4d.bench.spiral import run

    result = run(vertices=600, batch=2, steps=1, device="cpu", seed=0)
    assert result["max_abs_diff"] < 1e-4
    assert result["ours_meshes_per_s"] > 0 and result["ratio_vs_dense"] > 0


def test_frames_per_sequence_shortens_the_training_epoch_only(store):
    from fer4d.store import FrameDataset, MeshStore
    from fer4d.train.autoencoder import _loader

    with MeshStore(store / "dataset.h5") as opened:
        keys = opened.fold(0).train
    frames = FrameDataset(store / "dataset.h5", keys)
    sampled = AutoencoderOptions(batch_size=1, frames_per_sequence=2)
    assert sum(1 for _ in _loader(frames, sampled, shuffle_seed=1)) == 2 * len(keys)
    assert sum(1 for _ in _loader(frames, sampled, shuffle_seed=None)) == len(frames)  # evaluation: all
    assert sum(1 for _ in _loader(frames, AutoencoderOptions(batch_size=1), shuffle_seed=1)) == len(frames)
