"""The transformer's baselines (apex frame + linear, mean pooling + linear, GRU) on toy embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fer4d import LABELS
from fer4d.models.recurrent import ExpressionGRU
from fer4d.train.classifier.baselines import apex_index, fit_linear, pooled_features, train_baseline
from fer4d.train.classifier.features import read_fold_features
from fer4d.train.classifier.options import BaselineOptions
from test_classifier import FAST, write_toy_embeddings


def test_apex_is_the_frame_farthest_from_the_first():
    embedding = np.zeros((6, 3), np.float32)
    embedding[2] = [1, 0, 0]
    embedding[4] = [0, 2, 0]
    embedding[5] = [0, 0, -1.5]
    assert apex_index(embedding) == 4
    assert apex_index(embedding[:1]) == 0


def test_pooled_features_pick_the_apex_or_average_the_standardised_frames(tmp_path):
    write_toy_embeddings(tmp_path / "emb.h5")
    data = read_fold_features(tmp_path / "emb.h5", relative_to_first=True, scale_per_channel=False)
    apex = pooled_features(data, "test", "apex_linear")
    mean = pooled_features(data, "test", "mean_linear")
    assert apex.shape == mean.shape == (len(LABELS), 8)
    for row, (seq, features) in enumerate(zip(data.sequences["test"], data.features["test"])):
        np.testing.assert_allclose(apex[row], features[apex_index(seq.embedding)], rtol=1e-6)
        np.testing.assert_allclose(mean[row], features.mean(0), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no pooled features"):
        pooled_features(data, "test", "gru")


def test_fit_linear_separates_classes_and_l2_shrinks_the_weights():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (3, 5))
    y = [i % 3 for i in range(90)]
    x = centres[y] + rng.normal(0, 0.5, (90, 5))
    weak = fit_linear(x, y, 3, l2=1e-2)
    strong = fit_linear(x, y, 3, l2=1.0)
    assert (weak.probabilities(x).argmax(1) == y).mean() == 1.0
    assert float(strong.weight.norm()) < 0.5 * float(weak.weight.norm())
    np.testing.assert_allclose(weak.probabilities(x).sum(1), 1.0, atol=1e-5)


def test_gru_ignores_padding_and_keeps_the_batch_order():
    torch.manual_seed(0)
    model = ExpressionGRU(4, hidden=8, layers=2, dropout=0.0, n_classes=5).eval()
    short, long = torch.randn(1, 3, 4), torch.randn(1, 7, 4)
    padded = torch.cat([torch.cat([short, torch.zeros(1, 4, 4)], 1), long])
    mask = torch.tensor([[True] * 3 + [False] * 4, [True] * 7])
    together = model(padded, mask)
    assert together.shape == (2, 5)
    torch.testing.assert_close(together[0], model(short, torch.ones(1, 3, dtype=torch.bool))[0])
    torch.testing.assert_close(together[1], model(long, torch.ones(1, 7, dtype=torch.bool))[0])


@pytest.mark.parametrize("kind", ["apex_linear", "mean_linear", "gru"])
def test_each_baseline_learns_the_toy_task_and_writes_the_predictions_contract(tmp_path, kind):
    write_toy_embeddings(tmp_path / "emb.h5")
    summary = train_baseline(
        tmp_path / "emb.h5", tmp_path / "pred.json", kind, FAST, BaselineOptions(), device="cpu", seed=0
    )
    predictions = json.loads((tmp_path / "pred.json").read_text())
    assert predictions["fold"] == 2 and predictions["labels"] == list(LABELS)
    assert {i["subject"] for i in predictions["items"]} == {"s4"}
    assert summary["kind"] == kind and summary["test_accuracy"] == 1.0
    assert ("l2" in summary) == (kind != "gru") and ("best_epochs" in summary) == (kind == "gru")


def test_bad_baseline_options_are_named():
    with pytest.raises(ValueError, match="kinds must be distinct names"):
        BaselineOptions(kinds=("apex_linear", "svm"))
    with pytest.raises(ValueError, match="linear_l2"):
        BaselineOptions(linear_l2=())


def test_the_flame_transformer_reads_the_fits_expression_and_jaw_parameters(tmp_path):
    """A store whose expression code holds the class: the transformer on the FLAME parameters
    learns it, and its features are the expression coefficients and the jaw rotation."""
    from fer4d.formats.fit import FitSequence
    from fer4d.formats.store import Fold, StoreWriter
    from fer4d.train.classifier.parameters import parameter_features, read_parameter_fold

    rng = np.random.default_rng(0)
    splits = {"s0": "train", "s1": "train", "s2": "train", "s3": "val", "s4": "test"}
    folds = Fold([], [], [])
    with StoreWriter(tmp_path / "dataset.h5") as store:
        for subject, split in splits.items():
            for c, label in enumerate(LABELS):
                n = int(rng.integers(8, 12))
                expression = rng.normal(0, 0.1, (n, 10)).astype(np.float32)
                expression[:, c] += np.sin(np.linspace(0, np.pi, n))
                pose = np.zeros((n, 5, 3), np.float32)
                pose[:, 2, 0] = 0.1 * c
                fit = FitSequence(
                    path=f"{subject}/{label}.h5",
                    subject=subject,
                    label=label,
                    vertices=np.zeros((n, 4, 3), np.float32),
                    faces=np.zeros((1, 3), np.int32),
                    frame_index=np.arange(n),
                    quality={},
                    params={"expression": expression, "pose": pose},
                )
                key = store.add_sequence(fit, np.zeros((4, 3), np.float32))
                getattr(folds, split).append(key)
        store.finish(np.zeros((4, 3)), np.zeros((1, 3)), [folds] * 3, {"scheme": "kfold", "seed": 0}, "h", {})
    parameters = read_parameter_fold(tmp_path / "dataset.h5", 2)
    first = parameters.sequences[0]
    assert first.embedding.shape[1] == 13 and parameters.labels == list(LABELS)
    np.testing.assert_allclose(first.embedding[:, 10], 0.1 * first.label_index, atol=1e-6)  # the jaw's x rotation
    assert parameter_features({"expression": np.ones((2, 3)), "pose": np.ones((2, 5, 3))}).shape == (2, 6)
    write_toy_embeddings(tmp_path / "emb.h5")  # its fold (2) is the store fold read; nothing else of it is
    with pytest.raises(ValueError, match="needs the store"):
        train_baseline(tmp_path / "emb.h5", tmp_path / "f.json", "flame_transformer", FAST, BaselineOptions())
    summary = train_baseline(
        tmp_path / "emb.h5",
        tmp_path / "f.json",
        "flame_transformer",
        FAST,
        BaselineOptions(),
        "cpu",
        0,
        store_path=tmp_path / "dataset.h5",
    )
    assert summary["n_test"] == len(LABELS) and summary["test_accuracy"] >= 5 / 6


def test_fit_linear_reaches_the_optimum_of_its_weighted_objective():
    rng = np.random.default_rng(1)
    y = [0] * 30 + [1] * 10 + [2] * 5
    x = rng.normal(0, 1, (45, 4)) + np.array(y)[:, None]  # overlapping, unbalanced classes
    weights = torch.tensor([0.5, 1.0, 3.0])
    fitted = fit_linear(x, y, 3, l2=1e-2, weights=weights)
    weight = fitted.weight.double().requires_grad_()
    bias = fitted.bias.double().requires_grad_()
    logits = torch.from_numpy(x) @ weight + bias
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y), weight=weights.double())
    (loss + 1e-2 * weight.square().sum()).backward()
    assert float(weight.grad.abs().max()) < 1e-5 and float(bias.grad.abs().max()) < 1e-5
    unweighted = fit_linear(x, y, 3, l2=1e-2)
    assert not torch.allclose(unweighted.bias, fitted.bias, atol=1e-3)  # the class weights count
