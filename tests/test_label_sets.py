"""A run with twelve classes of its own, end to end: discovery, store, models, report, predict.

The data are the tiny run's raw scans in the ``generic`` layout, each emotion split into two
classes, its first frames (``{emotion}_onset``) and its last (``{emotion}_offset``): twelve
folders per subject whose names the label set lists, with no code change anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
import yaml

from fer4d import BU4DFE_FOLDERS
from fer4d.formats.checkpoints import read_classifier_checkpoint
from fer4d.train.predict import predict_sequence
from workflow_helpers import TINY_CONFIG, snakemake

TWELVE = [f"{emotion}_{phase}" for emotion in BU4DFE_FOLDERS for phase in ("onset", "offset")]


def split_into_twelve_classes(raw: Path, out: Path) -> int:
    """Link the first and the second half of each raw sequence's frames into two class folders."""
    subjects = sorted(p.name for p in raw.iterdir() if p.is_dir())
    for subject in subjects:
        for emotion, folder in BU4DFE_FOLDERS.items():
            frames = sorted((raw / subject / folder).glob("*.wrl"))
            half = len(frames) // 2
            for phase, part in (("onset", frames[:half]), ("offset", frames[half:])):
                target = out / subject / f"{emotion}_{phase}"
                target.mkdir(parents=True)
                for frame in part:
                    (target / frame.name).symlink_to(frame)
    return len(subjects)


@pytest.mark.slow
def test_a_twelve_class_label_set_runs_end_to_end(tiny_local_run, tmp_path):
    n_subjects = split_into_twelve_classes(tiny_local_run / "results" / "raw", tmp_path / "data")
    first = subjects_first(tmp_path / "data")
    (tmp_path / "data" / first / "yawn").mkdir()  # a class the set lacks
    config = tmp_path / "twelve.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "dataset": {"source": "directory", "root": str(tmp_path / "data"), "layout": "generic"},
                "flame": {"model": str(tiny_local_run / "results" / "model" / "flame_synthetic.pkl")},
                "labels": {"names": TWELVE},
                "baselines": {"kinds": ["mean_linear"]},
            }
        )
    )
    run = tmp_path / "run"
    done = snakemake(run, "-c2", "--configfile", str(TINY_CONFIG), str(config))
    assert done.returncode == 0, done.stderr[-5000:]
    results = run / "results"
    with h5py.File(results / "store" / "dataset.h5") as store:
        assert json.loads(store.attrs["labels"]) == TWELVE
        assert len(store["sequences"]) == 12 * n_subjects
        group = store["sequences"][f"{first}__surprise_offset"]
        assert group.attrs["label_index"] == TWELVE.index("surprise_offset")
    metrics = json.loads((results / "report" / "metrics.json").read_text())
    assert metrics["labels"] == TWELVE and set(metrics["per_class"]) == set(TWELVE)
    assert len(metrics["confusion_matrix"]) == 12 and sum(map(sum, metrics["confusion_matrix"])) == 12 * n_subjects
    assert metrics["baselines"]["mean_linear"]["n"] == 12 * n_subjects
    checkpoint = read_classifier_checkpoint(results / "folds" / "0" / "transformer.pt")
    assert checkpoint.labels == TWELVE
    head_bias = next(value for name, value in checkpoint.member_states[0].items() if name.endswith("head.bias"))
    assert head_bias.shape == (12,)
    assert "yawn: expression folder maps to no label" in done.stderr  # skipped, and said so
    predicted = predict_sequence(tmp_path / "data" / first / "fear_onset", results)
    assert list(predicted["probabilities"]) == TWELVE and predicted["label"] in TWELVE
    assert abs(sum(predicted["probabilities"].values()) - 1.0) < 1e-5


def subjects_first(root: Path) -> str:
    return sorted(p.name for p in root.iterdir() if p.is_dir())[0]
