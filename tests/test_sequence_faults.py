"""One sequence's unusable data never fails a non-strict run; strict runs fail naming it (issue #16)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import fer4d.fitting.stage as fit_stage
from fer4d.errors import InputFileError
from fer4d.fitting import fit_sequence, fit_sequence_file
from fer4d.flame.model import save_flame_npz
from fer4d.formats.groundtruth import GroundTruth, write_ground_truth
from fer4d.formats.ingested import read_sequence
from fer4d.io.ingest import ingest_sequence
from fer4d.io.options import IngestOptions
from fer4d.store.writer import empty_fit_reason
from test_fit import FAST, write_ingested
from test_fit_scans import simulate, small_model  # noqa: F401  (fixture)
from test_io import write_sequence


def write_truth(folder, n_frames):
    zeros = np.zeros((n_frames, 4, 3), np.float32)
    write_ground_truth(
        folder / "ground_truth.h5",
        GroundTruth(
            "M001",
            "sadness",
            zeros,
            zeros,
            np.zeros(2),
            np.zeros((n_frames, 2)),
            np.zeros((n_frames, 5, 3)),
            np.zeros((n_frames, 3)),
            np.eye(3),
            np.zeros(3),
            "mm",
        ),
    )


def test_ground_truth_that_disagrees_with_the_folder_is_quarantined_and_the_frames_kept(tmp_path):
    folder = tmp_path / "M001" / "Sad"
    frames = write_sequence(folder, 2)
    write_truth(folder, 25)  # written for the 25 frames the folder had before it was cut
    summary = ingest_sequence(
        frames, tmp_path / "o.h5", tmp_path / "q.json", "M001", "sadness", IngestOptions(min_frames=2)
    )
    assert summary["status"] == "ok" and summary["frames"] == 2
    [problem] = json.loads((tmp_path / "q.json").read_text())
    assert problem["file"] == str(folder / "ground_truth.h5")
    assert "25 frames, the folder 2 scans" in problem["problem"] and "kept without ground truth" in problem["problem"]
    assert read_sequence(tmp_path / "o.h5").ground_truth is None


def test_strict_ingest_fails_naming_the_ground_truth(tmp_path):
    folder = tmp_path / "M001" / "Sad"
    frames = write_sequence(folder, 2)
    write_truth(folder, 25)
    with pytest.raises(InputFileError, match=r"M001/Sad/ground_truth.h5: vertices has 25 frames"):
        ingest_sequence(
            frames, tmp_path / "o.h5", tmp_path / "q.json", "M001", "sadness", IngestOptions(min_frames=2), strict=True
        )
    assert not (tmp_path / "o.h5").exists()


def broken_solver(*args, **kwargs):
    raise np.linalg.LinAlgError("Singular matrix")


def nan_solver(frames, model, options, device, seed):
    result = fit_sequence(frames, model, options, device, seed)
    result.vertices_scan[1] = np.nan
    return result


@pytest.mark.parametrize(
    "solver, reason",
    [
        (broken_solver, "fitting failed: LinAlgError: Singular matrix"),
        (nan_solver, "non-finite fitted vertices in 1 of 2"),
    ],
)
def test_a_sequence_that_cannot_be_fitted_becomes_an_empty_fit_with_its_reason(
    small_model, tmp_path, monkeypatch, solver, reason
):
    sequence = simulate(small_model, 2, np.random.default_rng(3), noise_mm=0.2, scale=1.0)
    write_ingested(tmp_path / "seq.h5", sequence.frames)
    model_path = save_flame_npz(small_model, tmp_path / "model.npz")
    monkeypatch.setattr(fit_stage, "fit_sequence", solver)
    summary = fit_sequence_file(tmp_path / "seq.h5", model_path, tmp_path / "fit.h5", FAST, "cpu", 0)
    assert summary["status"] == "empty" and reason in summary["reason"]
    with h5py.File(tmp_path / "fit.h5") as f:
        assert f.attrs["status"] == "empty" and f["vertices"].shape[0] == 0
    assert reason in empty_fit_reason(tmp_path / "fit.h5")  # what the store reports
    with pytest.raises(InputFileError, match=r"seq.h5: fitting failed"):
        fit_sequence_file(tmp_path / "seq.h5", model_path, tmp_path / "strict.h5", FAST, "cpu", 0, strict=True)
    assert not (tmp_path / "strict.h5").exists()
