"""The report stage on fake fold outputs written here: files exist with hand-checked content."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from fer4d import LABELS
from fer4d.errors import InputFileError
from fer4d.report import ReportInputs, build_report

# fold 0: 3 items, 2 right; fold 1: 4 items, 2 right.
FOLDS = [
    [("anger", "anger"), ("disgust", "disgust"), ("fear", "surprise")],
    [("happiness", "happiness"), ("sadness", "anger"), ("surprise", "surprise"), ("anger", "disgust")],
]


def write_fold_outputs(tmp_path):
    inputs = ReportInputs(predictions=[], store=tmp_path / "dataset.h5", memory=tmp_path / "memory.json")
    for fold, pairs in enumerate(FOLDS):
        items = [{"key": f"s{fold}__{true}", "subject": f"s{fold}", "true": true, "pred": pred,
                  "probs": [1.0 if label == pred else 0.0 for label in LABELS]} for true, pred in pairs]
        path = tmp_path / f"pred{fold}.json"
        path.write_text(json.dumps({"fold": fold, "labels": list(LABELS), "items": items}))
        inputs.predictions.append(path)
        history = {"fold": fold, "best_epoch": 2, "epochs": [
            {"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.3 * e, "val_loss": 1.2 / e, "val_accuracy": 0.25 * e}
            for e in (1, 2, 3)]}
        inputs.histories.append(tmp_path / f"hist{fold}.json")
        inputs.histories[-1].write_text(json.dumps(history))
        inputs.autoencoder_metrics.append(tmp_path / f"ae{fold}.json")
        inputs.autoencoder_metrics[-1].write_text(json.dumps(
            {"history": [{"epoch": 1, "train_loss": 0.5, "val_l1_mm": 1.0}, {"epoch": 2, "train_loss": 0.3, "val_l1_mm": 0.8}],
             "test": {"euclidean_mm": 0.5 + fold, "l1_mm": 0.4}}))
    with h5py.File(inputs.store, "w") as f:
        for key, residual, flagged in (("a__anger", [0.1, 0.2, 0.3, 0.4], [0, 0, 0, 1]), ("b__fear", [1.0, 2.0], [0, 0])):
            q = f.create_group(f"sequences/{key}/quality")
            q["residual_median_mm"] = np.array(residual, np.float32)
            q["residual_p90_mm"] = np.array(residual, np.float32) * 2
            q["flagged"] = np.array(flagged, bool)
            q["v2v_mean_mm"] = np.full(len(residual), 0.25, np.float32)
    inputs.memory.write_text(json.dumps({"batch": 16, "device": "cpu", "points": [
        {"frames": 16, "peak_mb": 10.0, "baseline_mb": 300.0, "ms_per_batch": 5.0},
        {"frames": 32, "peak_mb": 20.0, "baseline_mb": 300.0, "ms_per_batch": 9.0}]}))
    return inputs


def test_report_metrics_and_files(tmp_path):
    inputs = write_fold_outputs(tmp_path)
    out = tmp_path / "report"
    build_report(inputs, out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(4 / 7)
    # recalls: anger 1/2, disgust 1, fear 0, happiness 1, sadness 0, surprise 1
    assert metrics["balanced_accuracy"] == pytest.approx(3.5 / 6)
    assert metrics["labels"] == list(LABELS)
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.sum() == 7 and matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[2, 5] == 1 and matrix[4, 0] == 1
    assert metrics["per_class"]["anger"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert [f["accuracy"] for f in metrics["folds"]] == pytest.approx([2 / 3, 1 / 2])
    assert metrics["fold_mean"]["accuracy"] == pytest.approx(7 / 12)
    assert metrics["fold_std"]["accuracy"] == pytest.approx(1 / 12)

    rows = list(csv.reader((out / "confusion_matrix.csv").open()))
    assert rows[0] == ["true\\pred", *LABELS] and rows[1] == ["anger", "1", "1", "0", "0", "0", "0"]
    assert ["overall", "accuracy", str(4 / 7)] in list(csv.reader((out / "metrics.csv").open()))

    quality = json.loads((out / "registration_quality.json").read_text())
    assert quality["n_frames"] == 6 and quality["flagged_fraction"] == pytest.approx(1 / 6)
    assert quality["frames"]["residual_median_mm"]["max"] == pytest.approx(2.0)
    assert quality["frames"]["v2v_mean_mm"]["mean"] == pytest.approx(0.25)
    reconstruction = json.loads((out / "reconstruction_error.json").read_text())
    assert reconstruction["test_error_mm"] == [0.5, 1.5]
    assert reconstruction["curves"][0]["val_l1_mm"] == [1.0, 0.8]

    for name in ("confusion_matrix.png", "training_curves.png", "reconstruction_error.png",
                 "registration_quality.png", "registered_sequence.png", "memory.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (out / name).stat().st_size > 2000, name
    svg = (out / "confusion_matrix.svg").read_text()
    assert "<svg" in svg and "surprise" in svg
    summary = (out / "report.md").read_text()
    assert "57.1%" in summary and "| 32 | 20.000 |" in summary and "confusion_matrix.png" in summary
    assert (out / "memory.csv").read_text().splitlines()[1] == "16,10.0,300.0,5.0"


def test_report_names_broken_predictions_file(tmp_path):
    bad = tmp_path / "pred.json"
    bad.write_text(json.dumps({"labels": list(LABELS), "items": [{"true": "joy", "pred": "anger"}]}))
    with pytest.raises(InputFileError, match="pred.json"):
        build_report(ReportInputs(predictions=[bad]), tmp_path / "out")
