"""The 2D path end to end: the synthetic sequences filmed in MUG's layout (config/video.yaml),
face landmarks, FLAME fitted to them, the same store, models and report; MUG-layout discovery;
``fer4d predict`` on a folder of frames."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from PIL import Image

from fer4d import LABELS
from fer4d.formats.landmarks import read_landmarks
from fer4d.io.layouts import discover_sequences
from fer4d.labels import LabelOptions
from fer4d.train.predict import predict_sequence
from workflow_helpers import ROOT, TINY_CONFIG, planned_jobs, snakemake

VIDEO_CONFIG = ROOT / "config" / "video.yaml"


def test_the_mug_layout_takes_the_first_take_and_skips_neutral_unless_named(tmp_path):
    for subject in ("001", "002"):
        for expression in ("happiness", "neutral", "surprise"):
            for take, n_frames in (("take001", 3), ("take000", 0), ("take002", 2)):
                folder = tmp_path / subject / expression / take
                folder.mkdir(parents=True)
                for t in range(n_frames):
                    (folder / f"img_{t + 1:04d}.jpg").write_bytes(b"")
    entries = discover_sequences(tmp_path, layout="mug", extension="jpg")
    assert [(e.subject, e.label, e.folder.name, len(e.frames)) for e in entries] == [
        (subject, label, "take001", 3) for subject in ("001", "002") for label in ("happiness", "surprise")
    ]
    with_neutral = LabelOptions.from_dict({"names": ["happiness", "neutral", "surprise"]})
    labels = [e.label for e in discover_sequences(tmp_path, layout="mug", extension="jpg", labels=with_neutral)]
    assert labels.count("neutral") == 2


@pytest.mark.slow
def test_the_2d_workflow_runs_end_to_end_and_predicts_a_folder_of_frames(tmp_path):
    run = tmp_path / "run"
    planned = planned_jobs(snakemake(run, "-n", "--configfile", str(TINY_CONFIG), str(VIDEO_CONFIG)).stdout)
    assert planned["landmarks"] == planned["fit_landmarks"] == 18 and planned["detector_embedding"] == 1
    assert "ingest" not in planned and "fit" not in planned
    done = snakemake(run, "-c2", "--configfile", str(TINY_CONFIG), str(VIDEO_CONFIG))
    assert done.returncode == 0, done.stderr[-5000:]
    results = run / "results" / "video"
    frames = results / "raw" / "F001" / "anger" / "take000"
    assert (frames / "img_0001.jpg").is_file() and Image.open(frames / "img_0001.jpg").size == (480, 480)

    # the films move: the detector sees the surprised mouth open (MediaPipe's inner-lip points 13, 14)
    surprise = read_landmarks(results / "landmarks" / "F001" / "surprise.h5").points
    opening = np.linalg.norm(surprise[:, 13, :2] - surprise[:, 14, :2], axis=1)
    assert opening.max() > opening[0] + 5.0, opening.round(1).tolist()

    registration = json.loads((results / "report" / "registration_quality.json").read_text())
    assert registration["fitted"] and registration["n_sequences"] == 18
    assert registration["frames"]["landmark_residual_px"]["median"] < 3.0
    assert registration["frames"]["landmark_residual_iod"]["median"] < 0.02
    with h5py.File(results / "store" / "dataset.h5") as store:
        group = store["sequences"]["F001__anger"]
        assert group["params/camera"].shape == (group.attrs["n_frames"], 3)
        assert "quality/landmark_residual_iod" in group
    metrics = json.loads((results / "report" / "metrics.json").read_text())
    assert metrics["n"] == 18 and set(metrics["baselines"]) >= {"flame_transformer"}
    overlay = Image.open(results / "report" / "landmark_overlay.png")
    assert min(overlay.size) > 400  # the frame with its landmarks, not the one-line placeholder
    assert "landmark_overlay.png" in (results / "report" / "report.md").read_text()

    predicted = predict_sequence(frames, results)
    assert predicted["label"] in LABELS and predicted["n_frames"] == len(list(frames.glob("img_*.jpg")))
    assert abs(sum(predicted["probabilities"].values()) - 1.0) < 1e-5
    assert np.isfinite(list(predicted["probabilities"].values())).all()
