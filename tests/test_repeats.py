"""Repeated cross-validation: the folds of each repeat, the interval formula, the report's table."""

from __future__ import annotations

import math

import pytest

from fer4d.formats.predictions import Prediction, read_predictions, write_predictions
from fer4d.report.build import ReportInputs, build_report
from fer4d.report.repeats import mean_interval, repeated_summary
from fer4d.store.folds import fold_count, make_folds
from fer4d.store.options import FoldOptions
from workflow_helpers import TINY_CONFIG, planned_jobs, snakemake

SUBJECTS = [f"S{i:02d}" for i in range(8)]
LABELS = ["calm", "smile"]


def sequences():
    keys, subjects, labels = [], [], []
    for subject in SUBJECTS:
        for label in LABELS:
            keys.append(f"{subject}__{label}")
            subjects.append(subject)
            labels.append(label)
    return keys, subjects, labels


def test_each_repeat_is_a_new_split_testing_every_subject_once():
    once = make_folds(*sequences(), FoldOptions(k=4), seed=3)
    three = make_folds(*sequences(), FoldOptions(k=4, repeats=3), seed=3)
    assert fold_count(FoldOptions(k=4, repeats=3), SUBJECTS) == len(three) == 12
    assert three[:4] == once  # the first repeat is the run without repeats
    splits = []
    for repeat in range(3):
        folds = three[repeat * 4 : (repeat + 1) * 4]
        tested = sorted(key for fold in folds for key in fold.test)
        assert tested == sorted(sequences()[0])  # every sequence tested once per repeat
        splits.append({frozenset(key.split("__")[0] for key in fold.test) for fold in folds})
    assert len({frozenset(split) for split in splits}) == 3  # three different splits
    with pytest.raises(ValueError, match="1 under loso"):
        FoldOptions(scheme="loso", repeats=2)


def test_mean_interval_is_the_student_t_interval_of_the_mean():
    spread = mean_interval([0.90, 0.92, 0.94])
    assert spread["mean"] == pytest.approx(0.92) and spread["std"] == pytest.approx(0.02)
    half = 4.302652729911275 * 0.02 / math.sqrt(3)  # t(0.975, 2 degrees of freedom)
    assert spread["ci"] == pytest.approx([0.92 - half, 0.92 + half])
    assert mean_interval([0.5]) == {"mean": 0.5, "std": 0.0, "ci": None}


def test_the_report_scores_each_repeat_and_their_spread(tmp_path):
    # two repeats of two folds, one sequence per fold: repeat 0 gets 2/2 right, repeat 1 gets 1/2
    right = [True, True, True, False]
    paths = []
    for fold, correct in enumerate(right):
        paths.append(tmp_path / f"p{fold}.json")
        pred = "calm" if correct else "smile"
        item = Prediction(f"s{fold}__calm", f"s{fold}", "calm", pred, [1.0, 0.0] if correct else [0.0, 1.0])
        write_predictions(paths[-1], fold, [item], LABELS)
    folds = [read_predictions(path) for path in paths]
    summary = repeated_summary(folds, 2)
    assert [r["accuracy"] for r in summary["per_repeat"]] == [1.0, 0.5]
    assert summary["accuracy"]["mean"] == pytest.approx(0.75) and summary["accuracy"]["std"] == pytest.approx(
        0.3536, 1e-3
    )
    assert summary["accuracy"]["ci"] == [0.0, 1.0]  # t(0.975, 1) = 12.7: the interval is clipped to scores
    assert repeated_summary(folds, 1) is None
    with pytest.raises(ValueError, match="do not split into 3 repeats"):
        repeated_summary(folds, 3)
    metrics = build_report(ReportInputs(predictions=paths, repeats=2), tmp_path / "report")
    assert metrics["repeated"]["folds_per_repeat"] == 2
    assert "### Repeated cross-validation: 2 splits of 2 folds" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.slow
def test_repeats_plan_every_fold_of_every_repeat(tmp_path):
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text("folds: {k: 3, repeats: 2}\n")
    result = snakemake(tmp_path / "run", "-n", "-c1", "--configfile", str(TINY_CONFIG), str(repeated))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    assert jobs["train_autoencoder"] == jobs["embed"] == jobs["train_transformer"] == 6, jobs
    assert jobs["ingest"] == 18  # the data are fitted once, whatever the repeats
