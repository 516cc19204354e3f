"""`fer4d predict`: run-folder checks, scan discovery and fold-averaged classification."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import torch

from fer4d import LABELS
from fer4d.cli import main
from fer4d.errors import InputFileError
from fer4d.formats.fit import write_fit
from fer4d.models.transformer import ExpressionTransformer
from fer4d.train.classifier.features import FeatureScaler
from fer4d.train.classifier.options import TransformerOptions
from fer4d.train.classifier.training import save_classifier
from fer4d.train.predict import FoldModels, classify_vertices, read_run_config, run_models, scan_files
from model_helpers import template_model


def test_scan_files_natural_order_and_errors(tmp_path):
    for name in ("10.wrl", "2.wrl", "1.wrl", "ground_truth.h5", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in scan_files(tmp_path, "wrl")] == ["1.wrl", "2.wrl", "10.wrl"]
    with pytest.raises(InputFileError, match="no scan files"):
        scan_files(_empty(tmp_path), "wrl")
    with pytest.raises(InputFileError, match="not a folder"):
        scan_files(tmp_path / "missing", "wrl")


def _empty(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    return tmp_path / "empty"


@pytest.mark.parametrize(
    "names", [("1.OBJ", "2.OBJ", "10.OBJ"), ("1.ply", "2.ply", "10.ply"), ("1.Wrl", "2.Wrl", "10.Wrl")]
)
def test_scan_files_take_any_supported_extension_in_any_case(tmp_path, names):
    """A run trained on .wrl scans predicts a folder of .obj/.ply files too, listed like discovery lists them."""
    for name in reversed(names):
        (tmp_path / name).write_text("x")
    assert [p.name for p in scan_files(tmp_path, "wrl")] == list(names)


def test_cli_names_a_run_folder_without_config(tmp_path, capsys):
    (tmp_path / "seq").mkdir()
    assert main(["predict", str(tmp_path / "seq"), "--model", str(tmp_path)]) == 2
    assert "config.json" in capsys.readouterr().err
    (tmp_path / "config.json").write_text(json.dumps({"flame": {}}))
    with pytest.raises(InputFileError, match="lacks section"):
        read_run_config(tmp_path)


def _fold_classifier(path, favourite: int, dim: int):
    """A transformer checkpoint whose head always favours class ``favourite``."""
    options = TransformerOptions(d_model=8, heads=2, layers=1, ff=16, dropout=0.0)
    model = ExpressionTransformer(dim, n_classes=len(LABELS), **options.model_kwargs())
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.full((len(LABELS),), -2.0))
        model.head.bias[favourite] = 2.0 if favourite else 1.0
    save_classifier(path, [model], dim, options, FeatureScaler(np.zeros(dim), np.ones(dim)), 0, [1], 0, list(LABELS))


def test_classify_vertices_averages_folds(tmp_path, monkeypatch):
    calls = []
    fake_embed = types.ModuleType("fer4d.train.embed")
    fake_embed.load_encoder = lambda checkpoint, hierarchy, device: calls.append((checkpoint.name, hierarchy.name))
    fake_embed.encode_frames = lambda encoder, vertices, neutral: (vertices - neutral).reshape(len(vertices), -1)[:, :4]
    monkeypatch.setitem(sys.modules, "fer4d.train.embed", fake_embed)
    folds = []
    for fold, favourite in ((0, 0), (1, 5), (2, 5)):
        folder = tmp_path / f"somewhere_{fold}"
        folder.mkdir(parents=True)
        (folder / "ae.pt").write_bytes(b"")
        _fold_classifier(folder / "tr.pt", favourite, 4)
        folds.append(FoldModels(fold, folder / "ae.pt", folder / "tr.pt"))
    vertices = np.random.default_rng(0).normal(size=(7, 5, 3)).astype(np.float32)
    result = classify_vertices(vertices, np.zeros((5, 3), np.float32), tmp_path / "h.npz", folds, "cpu")
    assert calls == [("ae.pt", "h.npz")] * 3
    assert [f["label"] for f in result["folds"]] == ["anger", "surprise", "surprise"]
    assert result["label"] == "surprise"
    expected = np.mean([list(f["probabilities"].values()) for f in result["folds"]], axis=0)
    np.testing.assert_allclose(list(result["probabilities"].values()), expected)
    assert sum(result["probabilities"].values()) == pytest.approx(1.0)


def _fake_pipeline(monkeypatch, calls):
    """Stand-ins for ingestion, fitting and the encoder that record their calls; the 'fit' is a
    (4 frames, 5 vertices) sequence whose encoder output is its first 4 coordinates."""
    io = types.ModuleType("fer4d.io")
    io_options = types.ModuleType("fer4d.io.options")
    io_options.IngestOptions = types.SimpleNamespace(from_dict=lambda d: ("ingest-options", d))
    io_ingest = types.ModuleType("fer4d.io.ingest")
    io_ingest.ingest_sequence = lambda frames, out, quarantine, subject, label, options, strict: (
        calls.append(("ingest", [f.name for f in frames], subject, options)) or quarantine.write_text("[]")
    )

    def fit_sequence_file(in_path, model_path, out_path, options, device, seed):
        calls.append(("fit", model_path, options, seed))
        arrays = {"vertices": np.ones((4, 5, 3), np.float32), "faces": np.zeros((1, 3), np.int32)}
        write_fit(out_path, {**arrays, "frame_index": np.arange(4, dtype=np.int32)}, "F009", "unknown", "ok")

    fitting = types.ModuleType("fer4d.fitting")
    fitting.FitOptions = types.SimpleNamespace(from_dict=lambda d: ("fit-options", d))
    fitting.fit_sequence_file = fit_sequence_file
    embed = types.ModuleType("fer4d.train.embed")
    embed.load_encoder = lambda checkpoint, hierarchy, device: None

    def encode_frames(encoder, vertices, neutral):
        calls.append(("encode", neutral.tolist()))
        return vertices.reshape(len(vertices), -1)[:, :4]

    embed.encode_frames = encode_frames
    io.__path__ = fitting.__path__ = []  # packages without CLI commands for the CLI's discovery
    stand_ins = {
        "fer4d.io": io,
        "fer4d.io.options": io_options,
        "fer4d.io.ingest": io_ingest,
        "fer4d.fitting": fitting,
        "fer4d.train.embed": embed,
    }
    for name, module in stand_ins.items():
        monkeypatch.setitem(sys.modules, name, module)


def test_predict_cli_runs_the_sequence_through_the_run(tmp_path, monkeypatch, capsys):
    calls = []
    _fake_pipeline(monkeypatch, calls)
    run = tmp_path / "run"
    (run / "models").mkdir(parents=True)
    (run / "models" / "ae.pt").write_bytes(b"")
    (run / "models" / "h.npz").write_bytes(b"")
    _fold_classifier(run / "models" / "tr.pt", 3, 4)
    model = template_model(run / "m.npz", np.full((5, 3), 0.5), np.zeros((1, 3), np.int32))
    (run / "config.json").write_text(
        json.dumps(
            {
                "seed": 5,
                "dataset": {"source": "directory", "extension": "obj"},
                "flame": {"model": str(model)},
                "ingest": {"max_points": 100},
                "fit": {"iterations": 2},
                "run": {
                    "hierarchy": "models/h.npz",
                    "folds": [{"fold": 0, "autoencoder": "models/ae.pt", "transformer": "models/tr.pt"}],
                },
            }
        )
    )
    sequence = tmp_path / "F009" / "Happy"
    sequence.mkdir(parents=True)
    for name in ("10.obj", "9.obj", "readme.txt"):
        (sequence / name).write_text("x")
    assert main(["predict", str(sequence), "--model", str(run), "--json", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["label"] == "happiness" and result["n_frames"] == 4 and len(result["folds"]) == 1
    assert calls == [
        ("ingest", ["9.obj", "10.obj"], "F009", ("ingest-options", {"max_points": 100})),
        ("fit", str(model), ("fit-options", {"iterations": 2}), 5),
        ("encode", [[0.5] * 3] * 5),  # the neutral mesh of the fit (no shape parameters: the template)
    ]
    assert main(["predict", str(sequence), "--model", str(run), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "happiness" in printed.splitlines()[0] and "%" in printed


def test_run_models_come_from_the_run_config_not_a_fixed_tree(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("h.npz", "ae.pt", "tr.pt"):
        (tmp_path / "a" / name).write_bytes(b"")
    config = {
        "run": {"hierarchy": "a/h.npz", "folds": [{"fold": 3, "autoencoder": "a/ae.pt", "transformer": "a/tr.pt"}]}
    }
    hierarchy, folds = run_models(tmp_path, config)
    assert hierarchy == tmp_path / "a" / "h.npz" and folds == [
        FoldModels(3, tmp_path / "a/ae.pt", tmp_path / "a/tr.pt")
    ]
    (tmp_path / "a" / "tr.pt").unlink()
    with pytest.raises(InputFileError, match="tr.pt.*missing"):
        run_models(tmp_path, config)
    with pytest.raises(InputFileError, match="no 'run' section"):
        run_models(tmp_path, {})
