"""Time-resolved predictions: causal curves from the classifier, their file, and the report's scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fer4d.errors import InputFileError
from fer4d.formats.predictions import Prediction, read_predictions, write_predictions
from fer4d.models.transformer import ExpressionTransformer
from fer4d.report.build import ReportInputs, build_report
from fer4d.report.timeline import decision_fraction, example_curves, frames_seen, time_resolved_summary
from fer4d.train.classifier.inference import predict_probabilities, probabilities_over_time

LABELS = ["calm", "smile", "frown"]


def test_probabilities_over_time_are_causal_and_end_at_the_whole_sequence_prediction():
    torch.manual_seed(0)
    model = ExpressionTransformer(5, n_classes=3, d_model=16, heads=2, layers=1, ff=32, dropout=0.0)
    features = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    curve = probabilities_over_time([model], features, torch.device("cpu"))
    assert curve.shape == (7, 3) and np.allclose(curve.sum(1), 1, atol=1e-5)
    whole = predict_probabilities([model], [features], torch.device("cpu"))[0]
    np.testing.assert_allclose(curve[-1], whole, atol=1e-5)
    later_changed = features.copy()
    later_changed[4:] += 5.0  # frames after t = 3 change: rows 0..3 must not
    again = probabilities_over_time([model], later_changed, torch.device("cpu"))
    np.testing.assert_allclose(again[:4], curve[:4], atol=1e-5)
    assert not np.allclose(again[4:], curve[4:], atol=1e-3)


def test_frames_seen_and_the_decision_fraction():
    assert [frames_seen(f, 8) for f in (0.25, 0.5, 0.75, 1.0)] == [2, 4, 6, 8]
    assert frames_seen(0.25, 3) == 1 and frames_seen(0.01, 10) == 1
    curve = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    assert decision_fraction(curve) == pytest.approx(4 / 5)  # winner 1 for good from frame 4 of 5
    assert decision_fraction(np.array([[0.1, 0.9], [0.2, 0.8]])) == pytest.approx(1 / 2)


def item(key, true, winners):
    """A prediction whose causal winner at frame t is ``winners[t]``."""
    curve = [[0.8 if c == w else 0.1 for c in range(3)] for w in winners]
    final = LABELS[winners[-1]]
    return Prediction(key, key.split("__")[0], true, final, curve[-1], curve)


def write_folds(tmp_path):
    folds = [
        [item("a__calm", "calm", [1, 0, 0, 0]), item("a__smile", "smile", [1, 1, 1, 1])],
        [item("b__frown", "frown", [0, 0, 0, 2]), item("b__calm", "calm", [2, 2, 2, 2])],
    ]
    paths = []
    for fold, items in enumerate(folds):
        paths.append(tmp_path / f"pred{fold}.json")
        write_predictions(paths[-1], fold, items, LABELS)
    return paths


def test_accuracy_over_time_on_hand_made_curves(tmp_path):
    paths = write_folds(tmp_path)
    folds = [read_predictions(path) for path in paths]
    summary = time_resolved_summary(folds)
    # from 1, 2, 3, 4 of 4 frames: right are (smile) / (calm, smile) / (calm, smile) / (calm, smile, frown)
    assert summary["n"] == 4 and summary["fractions"] == [0.25, 0.5, 0.75, 1.0]
    assert summary["accuracy"] == pytest.approx([1 / 4, 2 / 4, 2 / 4, 3 / 4])
    # the three right at the end settle after 2/4 (calm), 1/4 (smile), 4/4 (frown) of their frames
    assert summary["decision_fraction_median"] == pytest.approx(0.5)
    assert summary["decision_fraction_mean"] == pytest.approx((0.5 + 0.25 + 1.0) / 3)
    examples = example_curves(folds, count=3)
    assert [e["key"] for e in examples] == ["a__calm", "a__smile", "b__frown"] and examples[0]["curve"].shape == (4, 3)


def test_predictions_without_curves_have_no_time_resolved_summary(tmp_path):
    write_predictions(tmp_path / "p.json", 0, [Prediction("a__calm", "a", "calm", "calm", [1.0, 0.0, 0.0])], LABELS)
    assert "probs_over_time" not in json.loads((tmp_path / "p.json").read_text())["items"][0]
    fold = read_predictions(tmp_path / "p.json")
    assert time_resolved_summary([fold]) is None and example_curves([fold]) == []


def test_curves_of_the_wrong_width_are_refused_on_writing_and_reading(tmp_path):
    wrong = Prediction("a__calm", "a", "calm", "calm", [1.0, 0.0, 0.0], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="does not fit the 3 classes"):
        write_predictions(tmp_path / "p.json", 0, [wrong], LABELS)
    row = {"key": "a__calm", "subject": "a", "true": "calm", "pred": "calm", "probs": [1, 0, 0]}
    (tmp_path / "q.json").write_text(json.dumps({"labels": LABELS, "items": [{**row, "probs_over_time": [[1, 0]]}]}))
    with pytest.raises(InputFileError, match="q.json.*probs_over_time is not"):
        read_predictions(tmp_path / "q.json")


def test_the_report_scores_and_draws_the_curves(tmp_path):
    paths = write_folds(tmp_path)
    metrics = build_report(ReportInputs(predictions=paths), tmp_path / "report")
    assert metrics["time_resolved"]["accuracy"] == pytest.approx([0.25, 0.5, 0.5, 0.75])
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["time_resolved"] == metrics["time_resolved"]
    summary = (tmp_path / "report" / "report.md").read_text()
    assert "| 50.0% | 50.0% |" in summary and "probabilities_over_time.png" in summary
    figure = tmp_path / "report" / "probabilities_over_time.png"
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.stat().st_size > 10_000
