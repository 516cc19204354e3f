"""Metrics on hand-made predictions with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fer4d.report.metrics import (
    accuracy,
    balanced_accuracy,
    confusion_matrix,
    per_class,
    row_normalised,
    summarise,
)

# 3 classes. true: a a a a b b c ; pred: a a b c b a c
TRUE = [0, 0, 0, 0, 1, 1, 2]
PRED = [0, 0, 1, 2, 1, 0, 2]


def test_confusion_matrix_rows_are_true_labels():
    expected = np.array([[2, 1, 1], [1, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(TRUE, PRED, 3), expected)


def test_accuracy_and_balanced_accuracy():
    m = confusion_matrix(TRUE, PRED, 3)
    assert accuracy(m) == pytest.approx(4 / 7)
    assert balanced_accuracy(m) == pytest.approx((2 / 4 + 1 / 2 + 1 / 1) / 3)


def test_precision_recall_f1_by_hand():
    scores = per_class(confusion_matrix(TRUE, PRED, 3))
    np.testing.assert_allclose(scores["precision"], [2 / 3, 1 / 2, 1 / 2])
    np.testing.assert_allclose(scores["recall"], [2 / 4, 1 / 2, 1])
    f1_a = 2 * (2 / 3) * 0.5 / (2 / 3 + 0.5)
    np.testing.assert_allclose(scores["f1"], [f1_a, 0.5, 2 * 0.5 * 1 / 1.5])
    np.testing.assert_array_equal(scores["support"], [4, 2, 1])


def test_absent_classes_do_not_count_and_do_not_divide_by_zero():
    m = confusion_matrix([0, 0, 1], [0, 2, 1], 4)
    assert balanced_accuracy(m) == pytest.approx((0.5 + 1.0) / 2)
    scores = per_class(m)
    assert scores["precision"][3] == 0 and scores["f1"][2] == 0
    normalised = row_normalised(m)
    np.testing.assert_allclose(normalised.sum(1), [1, 1, 0, 0])
    assert math.isnan(accuracy(np.zeros((2, 2), dtype=int)))


def test_summarise_is_json_ready_and_consistent():
    result = summarise(TRUE, PRED, ["a", "b", "c"])
    assert result["confusion_matrix"] == [[2, 1, 1], [1, 1, 0], [0, 0, 1]]
    assert result["per_class"]["c"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert result["n"] == 7 and result["labels"] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix([0, 1], [0], 2)
