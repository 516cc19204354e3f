"""Training of the temporal transformer on small toy embeddings files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from fer4d import LABELS
from fer4d.errors import InputFileError
from fer4d.formats.checkpoints import read_classifier_checkpoint
from fer4d.formats.embeddings import EmbeddedSequence, read_embeddings, write_embeddings
from fer4d.train.classifier.baselines import train_baseline
from fer4d.train.classifier.features import augment, class_weights, resample
from fer4d.train.classifier.inference import LoadedClassifier, load_classifier
from fer4d.train.classifier.options import BaselineOptions, TransformerOptions
from fer4d.train.classifier.training import train_transformer

FAST = TransformerOptions(
    d_model=16, heads=2, layers=1, ff=32, epochs=25, batch_size=6, lr=3e-3, dropout=0.0, ensemble=1
)


def write_toy_embeddings(
    path,
    subjects=(("s0", "train"), ("s1", "train"), ("s2", "train"), ("s3", "val"), ("s4", "test")),
    dim=8,
    seed=0,
):
    """Sequences whose class c is the channel that rises over time, on top of a large per-subject
    identity offset (so the expression is only visible relative to the first frame)."""
    rng = np.random.default_rng(seed)
    sequences = []
    for subject, split in subjects:
        identity = rng.normal(0, 3.0, dim)
        for c, label in enumerate(LABELS):
            length = int(rng.integers(12, 20))
            ramp = np.sin(np.linspace(0, np.pi, length))[:, None]
            embedding = identity + rng.normal(0, 0.1, (length, dim))
            embedding[:, c] += 2.0 * ramp[:, 0]
            sequences.append(EmbeddedSequence(f"{subject}__{label}", subject, label, c, split, embedding))
    write_embeddings(path, 2, dim, sequences)


def embedding_of(path, key):
    return next(s.embedding for s in read_embeddings(path).sequences if s.key == key)


def test_learns_separable_toy_task_and_writes_contract_files(tmp_path):
    write_toy_embeddings(tmp_path / "emb.h5")
    paths = [tmp_path / n for n in ("t.pt", "pred.json", "hist.json")]
    summary = train_transformer(tmp_path / "emb.h5", *paths, FAST, device="cpu", seed=0)
    assert summary["test_accuracy"] == 1.0
    predictions = json.loads(paths[1].read_text())
    assert predictions["fold"] == 2 and predictions["labels"] == list(LABELS)
    assert {i["subject"] for i in predictions["items"]} == {"s4"}
    assert all(
        abs(sum(i["probs"]) - 1) < 1e-4 and i["pred"] == LABELS[int(np.argmax(i["probs"]))]
        for i in predictions["items"]
    )
    history = json.loads(paths[2].read_text())["members"][0]
    assert len(history["epochs"]) == FAST.epochs
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]
    classifier = load_classifier(paths[0], device="cpu")
    surprise = embedding_of(tmp_path / "emb.h5", "s4__surprise")
    assert LABELS[int(classifier.probabilities([surprise])[0].argmax())] == "surprise"


def test_validation_subjects_are_trained_on_or_choose_the_epoch(tmp_path):
    """train_on_validation: the validation subject's six sequences join the 18 training ones and
    every member is kept after its last epoch; off: the epoch is chosen on them. The trained
    baselines follow the transformer; the linear ones keep choosing their L2 on them."""
    write_toy_embeddings(tmp_path / "emb.h5")
    runs = {}
    for merged in (True, False):
        options = dataclasses.replace(FAST, epochs=6, train_on_validation=merged)
        paths = [tmp_path / f"{merged}{n}" for n in ("t.pt", "pred.json", "hist.json")]
        summary = train_transformer(tmp_path / "emb.h5", *paths, options, device="cpu", seed=0)
        history = json.loads(paths[2].read_text())
        runs[merged] = (summary, history, read_classifier_checkpoint(paths[0]).best_epochs)
        baselines = {
            kind: train_baseline(tmp_path / "emb.h5", tmp_path / f"{kind}.json", kind, options, BaselineOptions())
            for kind in ("gru", "mean_linear")
        }
        assert baselines["mean_linear"]["n_train"] == 18 and baselines["mean_linear"]["n_val"] == 6
        assert (baselines["gru"]["n_train"], baselines["gru"]["n_val"]) == ((24, 0) if merged else (18, 6))
        assert (baselines["gru"]["val_accuracy"] is None) == merged
    summary, history, best_epochs = runs[True]
    assert (summary["n_train"], summary["n_val"], summary["val_accuracy"]) == (24, 0, None)
    assert history["selection_split"] is None and best_epochs == [6]
    assert all(set(e) == {"epoch", "train_loss", "train_accuracy"} for e in history["members"][0]["epochs"])
    summary, history, best_epochs = runs[False]
    assert (summary["n_train"], summary["n_val"], history["selection_split"]) == (18, 6, "val")
    assert summary["val_accuracy"] in {k / 6 for k in range(7)}  # the ensemble on the 6 validation sequences
    epochs = history["members"][0]["epochs"]
    best = max(epochs, key=lambda e: (e["val_accuracy"], -e["val_loss"]))
    assert best_epochs == [best["epoch"]]


def test_training_is_deterministic_by_seed(tmp_path):
    write_toy_embeddings(tmp_path / "emb.h5")
    options = TransformerOptions(d_model=16, heads=2, layers=1, ff=32, epochs=3, batch_size=6, ensemble=2)
    runs = []
    for run in ("a", "b"):
        train_transformer(
            tmp_path / "emb.h5",
            tmp_path / f"{run}.pt",
            tmp_path / f"{run}.json",
            tmp_path / f"{run}_h.json",
            options,
            device="cpu",
            seed=7,
        )
        runs.append(json.loads((tmp_path / f"{run}_h.json").read_text()))
    assert runs[0] == runs[1]
    assert [m["seed"] for m in runs[0]["members"]] == [7, 8]
    assert runs[0]["members"][0]["epochs"] != runs[0]["members"][1]["epochs"]  # members differ
    a = read_classifier_checkpoint(tmp_path / "a.pt").member_states
    b = read_classifier_checkpoint(tmp_path / "b.pt").member_states
    assert len(a) == 2 and all(torch.equal(x[k], y[k]) for x, y in zip(a, b) for k in x)


def test_ensemble_predicts_the_mean_of_its_members_probabilities(tmp_path):
    write_toy_embeddings(tmp_path / "emb.h5")
    options = TransformerOptions(d_model=16, heads=2, layers=1, ff=32, epochs=2, batch_size=6, ensemble=3)
    paths = [tmp_path / n for n in ("t.pt", "pred.json", "hist.json")]
    train_transformer(tmp_path / "emb.h5", *paths, options, device="cpu", seed=0)
    ensemble = load_classifier(paths[0], device="cpu")
    assert len(ensemble.models) == 3
    embeddings = [embedding_of(tmp_path / "emb.h5", f"s4__{label}") for label in LABELS]
    members = [
        LoadedClassifier([model], ensemble.labels, ensemble.options, ensemble.scaler, ensemble.device).probabilities(
            embeddings
        )
        for model in ensemble.models
    ]
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(ensemble.probabilities(embeddings), np.mean(members, axis=0), atol=1e-6)
    predicted = [item["probs"] for item in json.loads(paths[1].read_text())["items"]]
    np.testing.assert_allclose(predicted, ensemble.probabilities(embeddings), atol=1e-5)


def test_augment_crops_and_resamples_within_bounds():
    rng = np.random.default_rng(0)
    features = np.arange(40, dtype=np.float32)[:, None].repeat(3, 1)
    lengths = [augment(features, rng, 0.5, 0.5, 2.0).shape[0] for _ in range(200)]
    assert min(lengths) >= 10 and max(lengths) <= 80 and len(set(lengths)) > 10
    out = augment(features, rng, 1.0, 1.0, 1.0)
    np.testing.assert_array_equal(out, features)


def test_resample_is_linear_interpolation():
    features = np.array([[0.0], [2.0], [4.0]], dtype=np.float32)
    np.testing.assert_allclose(resample(features, 5)[:, 0], [0, 1, 2, 3, 4])


def test_class_weights_inverse_frequency():
    weights = class_weights([0, 0, 0, 1], 3)
    assert weights[2] == 0
    assert weights[1] == pytest.approx(3 * weights[0])


def test_unknown_option_and_bad_file_are_reported(tmp_path):
    with pytest.raises(ValueError, match="unknown transformer option"):
        TransformerOptions.from_dict({"epochz": 3})
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputFileError, match="bad.h5"):
        train_transformer(
            tmp_path / "bad.h5",
            tmp_path / "a.pt",
            tmp_path / "b.json",
            tmp_path / "c.json",
            FAST,
            device="cpu",
        )


def test_feature_scaler_global_keeps_channel_ratios_and_uses_train_only():
    from fer4d.train.classifier.features import FeatureScaler

    rng = np.random.default_rng(0)
    train = [rng.normal(0, [10.0, 0.1], (50, 2)) + [5.0, -1.0] for _ in range(4)]  # noqa: RUF005 (array + offset)
    frames = np.concatenate(train)
    scaled = FeatureScaler.fit(train, per_channel=False)(frames)
    np.testing.assert_allclose(scaled.mean(0), 0, atol=1e-6)
    assert np.sqrt((scaled**2).mean()) == pytest.approx(1.0, rel=1e-4)
    assert scaled[:, 0].std() / scaled[:, 1].std() == pytest.approx(frames[:, 0].std() / frames[:, 1].std(), rel=1e-4)
    per_channel = FeatureScaler.fit(train, per_channel=True)(frames)
    np.testing.assert_allclose(per_channel.std(0), 1.0, rtol=1e-4)
