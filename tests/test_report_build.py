"""The report stage on fake fold outputs written here: files exist with hand-checked content."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from fer4d import LABELS
from fer4d.errors import InputFileError
from fer4d.report.build import ReportInputs, baselines_by_kind, build_report

# fold 0: 3 items, 2 right; fold 1: 4 items, 2 right.
FOLDS = [
    [("anger", "anger"), ("disgust", "disgust"), ("fear", "surprise")],
    [("happiness", "happiness"), ("sadness", "anger"), ("surprise", "surprise"), ("anger", "disgust")],
]


def write_fold_outputs(tmp_path):
    inputs = ReportInputs(predictions=[], store=tmp_path / "dataset.h5", memory=tmp_path / "memory.json")
    for fold, pairs in enumerate(FOLDS):
        items = [
            {
                "key": f"s{fold}__{true}",
                "subject": f"s{fold}",
                "true": true,
                "pred": pred,
                "probs": [1.0 if label == pred else 0.0 for label in LABELS],
            }
            for true, pred in pairs
        ]
        path = tmp_path / f"pred{fold}.json"
        path.write_text(json.dumps({"fold": fold, "labels": list(LABELS), "items": items}))
        inputs.predictions.append(path)
        history = {
            "fold": fold,
            "selection_split": "val",
            "members": [
                {
                    "seed": seed,
                    "best_epoch": 2,
                    "epochs": [
                        {
                            "epoch": e,
                            "train_loss": 1.0 / e,
                            "train_accuracy": 0.3 * e,
                            "val_loss": 1.2 / e,
                            "val_accuracy": 0.25 * e,
                        }
                        for e in (1, 2, 3)
                    ],
                }
                for seed in (0, 1)
            ],
        }
        if fold == 1:  # trained on its validation subjects (the default): train curves only
            history["selection_split"] = None
            for member in history["members"]:
                member["epochs"] = [{k: v for k, v in e.items() if not k.startswith("val_")} for e in member["epochs"]]
        inputs.histories.append(tmp_path / f"hist{fold}.json")
        inputs.histories[-1].write_text(json.dumps(history))
        inputs.autoencoder_metrics.append(tmp_path / f"ae{fold}.json")
        inputs.autoencoder_metrics[-1].write_text(
            json.dumps(
                {
                    "history": [
                        {"epoch": 1, "train_loss": 0.5, "val_l1_mm": 1.0},
                        {"epoch": 2, "train_loss": 0.3, "val_l1_mm": 0.8},
                    ],
                    "test": {"euclidean_mm": 0.5 + fold, "l1_mm": 0.4},
                    "reconstruction": {
                        "test": {
                            "all": {"error_mm": 0.5 + fold, "expression_mm": 1.0, "relative": 0.5 + fold},
                            "mouth": {"error_mm": 2.0 + fold, "expression_mm": 3.0, "relative": None},
                        }
                    },
                }
            )
        )
    with h5py.File(inputs.store, "w") as f:
        for key, residual, flagged in (
            ("a__anger", [0.1, 0.2, 0.3, 0.4], [0, 0, 0, 1]),
            ("b__fear", [1.0, 2.0], [0, 0]),
        ):
            q = f.create_group(f"sequences/{key}/quality")
            q["residual_median_mm"] = np.array(residual, np.float32)
            q["residual_p90_mm"] = np.array(residual, np.float32) * 2
            q["flagged"] = np.array(flagged, bool)
            q["v2v_mean_mm"] = np.full(len(residual), 0.25, np.float32)
        f["template/vertices"] = np.zeros((3, 3), np.float32)
        f["template/faces"] = np.array([[0, 1, 2]], np.int32)
    inputs.memory.write_text(
        json.dumps(
            {
                "batch": 16,
                "device": "cpu",
                "points": [
                    {"frames": 16, "peak_mb": 10.0, "baseline_mb": 300.0, "ms_per_batch": 5.0},
                    {"frames": 32, "peak_mb": 20.0, "baseline_mb": 300.0, "ms_per_batch": 9.0},
                ],
            }
        )
    )
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
    assert reconstruction["regions"][1]["mouth"] == {"error_mm": 3.0, "expression_mm": 3.0}  # None left out
    assert metrics["reconstruction"]["summary"]["mouth"]["error_mm"] == {"mean": 2.5, "std": 0.5, "folds": 2}
    summary = (out / "report.md").read_text()
    assert "| 1 | 1.500 | 3.000 | n/a | n/a | 1.000 | 150.0% |" in summary
    assert "| mean ± std | 1.000 ± 0.500 | 2.500 ± 0.500 | n/a | n/a | 1.000 ± 0.000 | 100.0% ± 50.0% |" in summary

    for name in (
        "confusion_matrix.png",
        "training_curves.png",
        "reconstruction_error.png",
        "registration_quality.png",
        "registered_sequence.png",
        "memory.png",
    ):
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


def write_fake_fit_and_scan(tmp_path):
    """A bumpy grid 'face' whose centre rises over 6 frames, and its scan (shifted points)."""
    u, v = np.meshgrid(np.linspace(-50, 50, 12), np.linspace(-60, 60, 14))
    base = np.stack([u.ravel(), v.ravel(), 10 * np.cos(u.ravel() / 40)], 1).astype(np.float32)
    idx = np.arange(12 * 14).reshape(14, 12)
    faces = np.concatenate(
        [
            np.stack([idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:]], -1).reshape(-1, 3),
            np.stack([idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]], -1).reshape(-1, 3),
        ]
    ).astype(np.int32)
    bump = np.exp(-(base[:, 0] ** 2 + base[:, 1] ** 2) / 800)
    vertices = np.stack([base + np.outer(bump, [0, 0, 4.0 * t]) for t in range(6)]).astype(np.float32)
    with h5py.File(tmp_path / "fit.h5", "w") as f:
        f["vertices"] = vertices
        f["vertices_scan"] = vertices + np.float32(100)
        f["faces"] = faces
        f["frame_index"] = np.arange(6, dtype=np.int32) * 2
        transform = np.eye(4)
        transform[:3, 3] = -100
        f["params/scan_to_model"] = transform
        f.attrs.update(subject="F001", label="surprise")
    with h5py.File(tmp_path / "scan.h5", "w") as f:
        points = np.concatenate([vertices[t] + 100 for t in range(6)])
        f["frames/vertices"] = points
        f["frames/vertex_offsets"] = np.arange(7, dtype=np.int64) * len(base)
        f["frames/faces"] = np.concatenate([faces] * 6)
        f["frames/face_offsets"] = np.arange(7, dtype=np.int64) * len(faces)
        f["frames/frame_index"] = np.arange(6, dtype=np.int32) * 2
    return tmp_path / "fit.h5", tmp_path / "scan.h5"


def test_registered_sequence_render_has_fit_and_overlay_panels(tmp_path):
    from matplotlib.image import imread

    from fer4d.formats.ingested import read_frame_points
    from fer4d.report.registered import evenly_spaced, render_registered_sequence

    fit, scan = write_fake_fit_and_scan(tmp_path)
    assert evenly_spaced(6, 5) == [0, 1, 2, 4, 5] and evenly_spaced(3, 5) == [0, 1, 2]
    assert read_frame_points(scan, 10).shape == (168, 3) and read_frame_points(scan, 3) is None
    render_registered_sequence(fit, scan, tmp_path / "seq.png", n_frames=3)
    image = imread(tmp_path / "seq.png")[..., :3]
    height, width, _ = image.shape
    assert width > 3 * height  # 3 frames + the overlay panel side by side
    panels = np.array_split(image, 4, axis=1)
    assert all((panel < 0.9).any(axis=-1).mean() > 0.02 for panel in panels)  # each panel has content


@pytest.mark.parametrize(
    "metrics, expected",
    [
        ({"test_l1_mm": 0.4, "test_euclidean_mm": 0.7}, 0.7),
        ({"test": {"l1_mm": 0.4, "mean_euclidean_mm": 0.6}}, 0.6),
        ({"test": {"mean": 0.9}}, 0.9),
        ({"best_epoch": 3}, None),
    ],
)
def test_autoencoder_test_error_is_found_defensively(tmp_path, metrics, expected):
    from fer4d.report.autoencoder import read_autoencoder_metrics

    path = tmp_path / "ae.json"
    path.write_text(json.dumps({"history": {"train_loss": [0.3, 0.2], "epoch": [1, 2]}, **metrics}))
    curves, error, regions = read_autoencoder_metrics(path)
    assert curves == {"train_loss": [0.3, 0.2]} and error == expected and regions == {}


def write_baseline_predictions(tmp_path, inputs, kind, wrong_per_fold):
    """A baseline's per-fold predictions of the transformer's test sequences, the first
    ``wrong_per_fold[i]`` of fold ``i`` predicted as another class."""
    paths = []
    for fold, path in enumerate(inputs.predictions):
        data = json.loads(path.read_text())
        for item in data["items"][: wrong_per_fold[fold]]:
            item["pred"] = next(label for label in LABELS if label != item["true"])
        for item in data["items"][wrong_per_fold[fold] :]:
            item["pred"] = item["true"]
        paths.append(tmp_path / f"{kind}{fold}.json")
        paths[-1].write_text(json.dumps(data))
    return paths


def test_report_tables_the_baselines_on_the_same_folds(tmp_path):
    inputs = write_fold_outputs(tmp_path)
    inputs.baselines = {
        "apex_linear": write_baseline_predictions(tmp_path, inputs, "apex", [3, 0]),  # 4/7, folds 0 and 1
        "gru": write_baseline_predictions(tmp_path, inputs, "gru", [0, 0]),  # 7/7
    }
    build_report(inputs, tmp_path / "report")
    baselines = json.loads((tmp_path / "report" / "metrics.json").read_text())["baselines"]
    assert list(baselines) == ["transformer", "apex_linear", "gru"]
    assert baselines["transformer"]["accuracy"] == pytest.approx(4 / 7)
    assert baselines["apex_linear"]["accuracy"] == pytest.approx(4 / 7)
    assert [f["accuracy"] for f in baselines["apex_linear"]["folds"]] == [0.0, 1.0]
    assert (
        baselines["apex_linear"]["fold_mean"]["accuracy"] == 0.5
        and baselines["apex_linear"]["fold_std"]["accuracy"] == 0.5
    )
    assert baselines["gru"]["balanced_accuracy"] == 1.0 and baselines["gru"]["n"] == 7
    summary = (tmp_path / "report" / "report.md").read_text()
    assert "| apex frame embedding + linear (no temporal model) | 57.1% | " in summary
    assert (
        "| 50.0% ± 50.0% |" in summary and "| bidirectional GRU on the same embeddings | 100.0% | 100.0% |" in summary
    )


def test_report_refuses_a_baseline_tested_on_other_sequences(tmp_path):
    inputs = write_fold_outputs(tmp_path)
    paths = write_baseline_predictions(tmp_path, inputs, "gru", [0, 0])
    data = json.loads(paths[1].read_text())
    data["items"] = data["items"][1:]
    paths[1].write_text(json.dumps(data))
    inputs.baselines = {"gru": paths}
    with pytest.raises(InputFileError, match="gru1.json.*other test sequences"):
        build_report(inputs, tmp_path / "report")


def test_baseline_paths_split_by_kind_in_kind_major_order():
    assert baselines_by_kind(["a0", "a1", "b0", "b1"], ["a", "b"]) == {"a": ["a0", "a1"], "b": ["b0", "b1"]}
    assert baselines_by_kind([], []) == {}
    with pytest.raises(ValueError, match="do not split"):
        baselines_by_kind(["a0", "a1", "b0"], ["a", "b"])
