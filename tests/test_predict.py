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
from fer4d.models.transformer import ExpressionTransformer
from fer4d.train.classifier import FeatureScaler, TransformerOptions, save_classifier
from fer4d.train.predict import classify_vertices, read_run_config, scan_files


def test_scan_files_natural_order_and_errors(tmp_path):
    for name in ("10.wrl", "2.wrl", "1.wrl", "ground_truth.h5", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in scan_files(tmp_path, "wrl")] == ["1.wrl", "2.wrl", "10.wrl"]
    with pytest.raises(InputFileError, match="no \\*.obj"):
        scan_files(tmp_path, "obj")
    with pytest.raises(InputFileError, match="not a folder"):
        scan_files(tmp_path / "missing", "wrl")


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
    save_classifier(path, [model], dim, options, FeatureScaler(np.zeros(dim), np.ones(dim)), {"fold": 0})


def test_classify_vertices_averages_folds(tmp_path, monkeypatch):
    calls = []
    fake_embed = types.ModuleType("fer4d.train.embed")
    fake_embed.load_encoder = lambda checkpoint, hierarchy, device: calls.append((checkpoint.name, hierarchy.name))
    fake_embed.encode_frames = lambda encoder, vertices: vertices.reshape(len(vertices), -1)[:, :4]  # (T, 4)
    monkeypatch.setitem(sys.modules, "fer4d.train.embed", fake_embed)
    for fold, favourite in ((0, 0), (1, 5), (2, 5)):
        folder = tmp_path / "folds" / str(fold)
        folder.mkdir(parents=True)
        (folder / "autoencoder.pt").write_bytes(b"")
        _fold_classifier(folder / "transformer.pt", favourite, 4)
    result = classify_vertices(np.random.default_rng(0).normal(size=(7, 5, 3)).astype(np.float32), tmp_path, "cpu")
    assert calls == [("autoencoder.pt", "hierarchy.npz")] * 3
    assert [f["label"] for f in result["folds"]] == ["anger", "surprise", "surprise"]
    assert result["label"] == "surprise"
    expected = np.mean([list(f["probabilities"].values()) for f in result["folds"]], axis=0)
    np.testing.assert_allclose(list(result["probabilities"].values()), expected)
    assert sum(result["probabilities"].values()) == pytest.approx(1.0)


def _fake_pipeline(monkeypatch, calls):
    """Stand-ins for ingestion, fitting and the encoder that record their calls; the 'fit' is a
    (4 frames, 5 vertices) sequence whose encoder output is its first 4 coordinates."""
    import h5py

    io = types.ModuleType("fer4d.io")
    io.IngestOptions = types.SimpleNamespace(from_dict=lambda d: ("ingest-options", d))
    io.ingest_sequence = lambda frames, out, quarantine, subject, label, options, strict: (
        calls.append(("ingest", [f.name for f in frames], subject, options)) or quarantine.write_text("[]")
    )

    def fit_sequence_file(in_path, model_path, out_path, options, device, seed):
        calls.append(("fit", model_path, options, seed))
        with h5py.File(out_path, "w") as f:
            f["vertices"] = np.ones((4, 5, 3), np.float32)

    fitting = types.ModuleType("fer4d.fitting")
    fitting.FitOptions = types.SimpleNamespace(from_dict=lambda d: ("fit-options", d))
    fitting.fit_sequence_file = fit_sequence_file
    embed = types.ModuleType("fer4d.train.embed")
    embed.load_encoder = lambda checkpoint, hierarchy, device: None
    embed.encode_frames = lambda encoder, vertices: vertices.reshape(len(vertices), -1)[:, :4]
    io.__path__ = fitting.__path__ = []  # packages without CLI commands for the CLI's discovery
    for name, module in (("fer4d.io", io), ("fer4d.fitting", fitting), ("fer4d.train.embed", embed)):
        monkeypatch.setitem(sys.modules, name, module)


def test_predict_cli_runs_the_sequence_through_the_run(tmp_path, monkeypatch, capsys):
    calls = []
    _fake_pipeline(monkeypatch, calls)
    run = tmp_path / "run"
    (run / "folds" / "0").mkdir(parents=True)
    (run / "folds" / "0" / "autoencoder.pt").write_bytes(b"")
    _fold_classifier(run / "folds" / "0" / "transformer.pt", 3, 4)
    (run / "config.json").write_text(
        json.dumps(
            {
                "seed": 5,
                "dataset": {"source": "directory", "extension": "obj"},
                "flame": {"model": "/m.pkl"},
                "ingest": {"max_points": 100},
                "fit": {"iterations": 2},
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
        ("fit", "/m.pkl", ("fit-options", {"iterations": 2}), 5),
    ]
    assert main(["predict", str(sequence), "--model", str(run), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "happiness" in printed.splitlines()[0] and "%" in printed
