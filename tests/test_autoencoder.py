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
from fer4d.store import FoldOptions, MeshStore, StoreOptions, build_store
from fer4d.synth.facemodel import make_synthetic_flame
from fer4d.train.autoencoder import AutoencoderOptions, train_autoencoder
from fer4d.train.embed import embed_fold, encode_frames, load_encoder
from fer4d.train.hierarchy import build_hierarchy_file
from fer4d.train.inputs import INPUTS, NORMALISATIONS, InputTransform, mix_identities
from fer4d.train.reconstruction import reconstruction_errors


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
            arrays = {"vertices": vertices, "faces": small_model.faces, "frame_index": np.arange(4, dtype=np.int32)}
            write_fit(
                path,
                {**arrays, "params/shape": shape[0].numpy()},
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


def train(store, out, epochs, resume="resume", **input_options):
    options = AutoencoderOptions(filters=(8, 16), latent=8, epochs=epochs, batch_size=8, **input_options)
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
    from fer4d.store import FrameDataset
    from fer4d.train.autoencoder import _loader

    with MeshStore(store / "dataset.h5") as opened:
        keys = opened.fold(0).train
    frames = FrameDataset(store / "dataset.h5", keys)
    sampled = AutoencoderOptions(batch_size=1, frames_per_sequence=2)
    assert sum(1 for _ in _loader(frames, sampled, shuffle_seed=1)) == 2 * len(keys)
    assert sum(1 for _ in _loader(frames, sampled, shuffle_seed=None)) == len(frames)  # evaluation: all
    assert sum(
        1 for _ in _loader(frames, AutoencoderOptions(batch_size=1, frames_per_sequence=0), shuffle_seed=1)
    ) == len(frames)


def test_epochs_are_compared_on_central_validation_frames_and_reported_on_all(store, tmp_path, monkeypatch):
    import fer4d.train.autoencoder as autoencoder

    seen = []

    def counting(model, loader, *args, **kwargs):
        seen.append(len(loader.dataset))
        return reconstruction_errors(model, loader, *args, **kwargs)

    monkeypatch.setattr(autoencoder, "reconstruction_errors", counting)
    metrics = train(store, tmp_path, epochs=2, frames_per_sequence=2)
    with MeshStore(store / "dataset.h5") as opened:
        n_val = len(opened.fold(0).val)
    assert seen == [2 * n_val, 2 * n_val, metrics["frames"]["val"], metrics["frames"]["test"]]
    assert metrics["frames"]["val"] > 2 * n_val  # the final figures: every frame


def test_the_neutral_mesh_is_the_layer_without_expression_and_its_displacement_is_zero(small_model, store):
    layer = FlameLayer(small_model, n_shape=10, n_expr=10)
    shape = torch.randn(1, 10, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        posed = layer(shape=shape).vertices[0].numpy()  # zero expression and pose
    np.testing.assert_allclose(small_model.neutral(shape[0].numpy()), posed, atol=1e-3)
    assert np.abs(small_model.neutral(shape[0].numpy()) - small_model.v_template).max() > 1.0  # identity moved it
    with MeshStore(store / "dataset.h5") as opened:
        key = opened.keys()[0]
        neutral = opened.neutral(key)
        transform = InputTransform.compute(store / "dataset.h5", [key], "displacement", "none", 0.1)
        np.testing.assert_allclose(transform.encode(neutral, neutral), 0.0)  # a neutral frame: no displacement
        frames = opened.sequence(key)
        # the fixture's frames are the same identity with random expressions: closer to their own neutral
        assert (
            np.linalg.norm(frames - neutral, axis=-1).mean()
            < np.linalg.norm(frames - opened.neutral(opened.keys()[-1]), axis=-1).mean()
        )


@pytest.mark.parametrize("input", INPUTS)
@pytest.mark.parametrize("normalise", NORMALISATIONS)
def test_input_transforms_round_trip(store, input, normalise):
    with MeshStore(store / "dataset.h5") as opened:
        keys = opened.fold(0).train
        vertices, neutral = opened.sequence(keys[0]), opened.neutral(keys[0])
    transform = InputTransform.compute(store / "dataset.h5", keys, input, normalise, 0.1)
    again = InputTransform.from_stats(input, transform.stats())
    x = again.encode(torch.from_numpy(vertices), torch.from_numpy(neutral))
    torch.testing.assert_close(
        again.decode(x, torch.from_numpy(neutral)), torch.from_numpy(vertices), atol=1e-3, rtol=0
    )
    np.testing.assert_allclose(transform.encode(vertices, neutral), x.numpy(), atol=1e-5)  # numpy = torch
    assert (len(np.unique(transform.std)) == 1) == (normalise != "per_vertex")
    assert transform.std.min() >= 0.1
    if input == "displacement" and normalise != "none":
        assert np.abs(transform.mean).max() < np.abs(vertices - neutral).max()  # a displacement's mean, not a face's


def test_identity_mix_puts_frames_on_other_subjects_only():
    subjects = torch.tensor([0, 0, 1, 1, 2, 2])
    positions = torch.arange(6).repeat(50)  # (300,)
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(mix_identities(positions, subjects, 0.0, generator), positions)
    mixed = mix_identities(positions, subjects, 1.0, generator)
    assert mixed.shape == positions.shape
    swapped = mixed != positions
    assert torch.all(subjects[mixed[swapped]] != subjects[positions[swapped]])  # never the frame's own subject
    assert 0.55 < swapped.float().mean() < 0.8  # ~2/3: a draw of its own subject keeps the frame's own
    half = (mix_identities(positions, subjects, 0.5, generator) != positions).float().mean()
    assert 0.2 < half < 0.45


def test_identity_mix_needs_the_absolute_input():
    with pytest.raises(ValueError, match="identity_mix"):
        AutoencoderOptions(identity_mix=0.5)
    assert AutoencoderOptions(input="absolute", identity_mix=0.5).identity_mix == 0.5


def test_region_errors_of_a_perfect_and_of_a_mean_reconstruction(store):
    from torch.utils.data import DataLoader

    from fer4d.store import FrameDataset

    with MeshStore(store / "dataset.h5") as opened:
        keys, regions = opened.fold(0).test, opened.regions
    assert set(regions) == {"mouth", "eyes", "brows"} and all(mask.sum() > 5 for mask in regions.values())
    dataset = FrameDataset(store / "dataset.h5", keys)
    neutrals = torch.from_numpy(dataset.neutrals())
    transform = InputTransform.compute(store / "dataset.h5", keys, "displacement", "none", 0.1)
    loader = DataLoader(dataset, batch_size=5)
    perfect = reconstruction_errors(torch.nn.Identity(), loader, neutrals, transform, regions, torch.device("cpu"))
    assert list(perfect) == ["all", "brows", "eyes", "mouth"]
    assert all(perfect[r]["error_mm"] < 1e-5 and perfect[r]["relative"] < 1e-5 for r in perfect)
    vertices = np.stack([dataset[i][0].numpy() for i in range(len(dataset))])
    displacement = vertices - np.stack([neutrals[dataset[i][1]].numpy() for i in range(len(dataset))])
    mouth = np.linalg.norm(displacement[:, regions["mouth"]], axis=-1).mean()
    assert perfect["mouth"]["expression_mm"] == pytest.approx(mouth, rel=1e-4)
    neutral_face = reconstruction_errors(
        ZeroModel(), loader, neutrals, transform, regions, torch.device("cpu")
    )  # outputs zero displacement: the neutral face
    for region in perfect:
        assert neutral_face[region]["error_mm"] == pytest.approx(neutral_face[region]["expression_mm"], rel=1e-5)
        assert neutral_face[region]["relative"] == pytest.approx(1.0, rel=1e-5)
    assert neutral_face["mouth"]["error_mm"] != pytest.approx(neutral_face["all"]["error_mm"], rel=1e-3)


class ZeroModel(torch.nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)


@pytest.mark.parametrize("input_options", [{}, {"input": "absolute", "normalise": "per_vertex", "identity_mix": 0.5}])
def test_training_records_region_errors_and_embeds_with_its_input(store, tmp_path, input_options):
    metrics = train(store, tmp_path, epochs=1, **input_options)
    for split in ("val", "test"):
        assert set(metrics["reconstruction"][split]) == {"all", "mouth", "eyes", "brows"}
    assert metrics["test_euclidean_mm"] == metrics["reconstruction"]["test"]["all"]["error_mm"]
    encoder = load_encoder(tmp_path / "ae.pt", store / "hierarchy.npz", "cpu")
    assert encoder.transform.input == input_options.get("input", "displacement")


def test_an_old_checkpoint_reads_as_absolute_input(tmp_path):
    from fer4d.checkpoint import save_checkpoint
    from fer4d.formats.checkpoints import read_autoencoder_checkpoint

    old = {"model": {}, "options": {}, "hierarchy": "h", "stats": {"mean": torch.zeros(2, 3)}, "fold": 0, "epoch": 1}
    save_checkpoint(tmp_path / "old.pt", old)
    assert read_autoencoder_checkpoint(tmp_path / "old.pt").input == "absolute"
    save_checkpoint(tmp_path / "new.pt", {**old, "input": "displacement"})
    assert read_autoencoder_checkpoint(tmp_path / "new.pt").input == "displacement"
