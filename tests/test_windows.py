"""Sliding windows (``evaluation.window``): spans, samples, training, prediction and report scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fer4d.formats.checkpoints import read_classifier_checkpoint
from fer4d.formats.predictions import Prediction, read_predictions, write_predictions
from fer4d.report.build import ReportInputs, build_report
from fer4d.report.classification import window_summary
from fer4d.train.classifier.baselines import apex_index, pooled_features, train_baseline
from fer4d.train.classifier.features import WindowedFold, read_fold_features, window_spans
from fer4d.train.classifier.inference import load_classifier
from fer4d.train.classifier.options import BaselineOptions, EvaluationOptions
from fer4d.train.classifier.training import train_transformer
from test_classifier import FAST, embedding_of, write_toy_embeddings


def test_window_spans_cover_every_frame():
    assert window_spans(10, 4, 3) == [(0, 4), (3, 7), (6, 10)]
    assert window_spans(11, 4, 3) == [(0, 4), (3, 7), (6, 10), (7, 11)]  # the last ends at the end
    assert window_spans(3, 6, 3) == [(0, 3)] and window_spans(9, 0, 1) == [(0, 9)]
    assert EvaluationOptions(window=6).step == 3 and EvaluationOptions(window=6, stride=1).step == 1
    with pytest.raises(ValueError, match="stride only with a window"):
        EvaluationOptions(stride=2)


def test_windowed_fold_keeps_labels_and_owners_and_averages_per_sequence(tmp_path):
    write_toy_embeddings(tmp_path / "emb.h5")
    fold = read_fold_features(tmp_path / "emb.h5", True, False)
    windows = WindowedFold.of(fold, 6, 3)
    for split in ("train", "val", "test"):
        owners = windows.owners[split]
        assert sorted(set(owners)) == list(range(len(fold.features[split])))
        assert [fold.labels[split][o] for o in owners] == windows.data.labels[split]
        assert all(len(w) == 6 for w in windows.data.features[split])
    for seq, feats in zip(windows.data.sequences["test"], windows.data.features["test"]):
        assert len(seq.embedding) == len(feats) and "@" in seq.key  # one sample per window, aligned
    apex = pooled_features(windows.data, "test", "apex_linear")  # the apex of each window, not of its sequence
    assert apex.shape[0] == len(windows.owners["test"])
    third = windows.data.sequences["test"][2]
    np.testing.assert_allclose(apex[2], windows.data.features["test"][2][apex_index(third.embedding)])
    n = len(windows.owners["test"])
    probs = np.random.default_rng(0).dirichlet(np.ones(6), n)
    means, per_sequence = windows.sequence_probabilities(probs)
    first = np.asarray(windows.owners["test"]) == 0
    np.testing.assert_allclose(means[0], probs[first].mean(0))
    assert len(per_sequence[0]) == first.sum() and len(per_sequence) == len(fold.features["test"])


def test_training_on_windows_predicts_sequences_by_their_windows_mean(tmp_path):
    write_toy_embeddings(tmp_path / "emb.h5")
    paths = [tmp_path / n for n in ("t.pt", "pred.json", "hist.json")]
    evaluation = EvaluationOptions(window=8, stride=4)
    train_transformer(tmp_path / "emb.h5", *paths, FAST, device="cpu", seed=0, evaluation=evaluation)
    items = json.loads(paths[1].read_text())["items"]
    for item in items:
        assert len(item["window_probs"]) >= 2
        np.testing.assert_allclose(np.mean(item["window_probs"], 0), item["probs"], atol=2e-4)
    checkpoint = read_classifier_checkpoint(paths[0])
    assert (checkpoint.window, checkpoint.step) == (8, 4)
    classifier = load_classifier(paths[0], device="cpu")  # fer4d predict averages windows the same way
    again = classifier.probabilities([embedding_of(tmp_path / "emb.h5", items[0]["key"])])[0]
    np.testing.assert_allclose(again, items[0]["probs"], atol=2e-4)
    summary = window_summary([read_predictions(paths[1])])
    assert summary["n_sequences"] == len(items) and summary["n_windows"] == sum(len(i["window_probs"]) for i in items)
    for kind in ("mean_linear", "apex_linear"):
        train_baseline(
            tmp_path / "emb.h5", tmp_path / f"{kind}.json", kind, FAST, BaselineOptions(), "cpu", 0, evaluation
        )
        baseline = json.loads((tmp_path / f"{kind}.json").read_text())["items"]
        assert len(baseline) == len(items) and all(len(i["window_probs"]) >= 2 for i in baseline)


def test_window_and_sequence_accuracy_on_hand_made_predictions(tmp_path):
    labels = ["calm", "smile"]
    calm, smile = [0.9, 0.1], [0.2, 0.8]
    items = [  # 3 of 4 windows right, mean right / 1 of 3 right, mean wrong
        Prediction(
            "a__calm", "a", "calm", "calm", list(np.mean([calm, calm, calm, smile], 0)), [], [calm, calm, calm, smile]
        ),
        Prediction("b__calm", "b", "calm", "smile", list(np.mean([smile, smile, calm], 0)), [], [smile, smile, calm]),
    ]
    write_predictions(tmp_path / "p.json", 0, items, labels)
    summary = window_summary([read_predictions(tmp_path / "p.json")])
    assert summary == {
        "n_windows": 7,
        "window_accuracy": pytest.approx(4 / 7),
        "n_sequences": 2,
        "sequence_accuracy": 0.5,
    }
    metrics = build_report(ReportInputs(predictions=[tmp_path / "p.json"]), tmp_path / "report")
    assert metrics["windows"]["window_accuracy"] == pytest.approx(4 / 7) and metrics["accuracy"] == 0.5
    assert "window accuracy **57.1%** over 7 test windows" in (tmp_path / "report" / "report.md").read_text()
