"""The report draws a sequence the store kept, whatever became of the first one (issue #15/#16)."""

from __future__ import annotations

import h5py
import numpy as np
from matplotlib.image import imread

from fer4d.formats.fit import write_fit
from fer4d.report.build import build_report
from fer4d.report.example import choose_example
from test_report_build import write_fake_fit_and_scan, write_fold_outputs


def write_empty_fit(path, subject="F000", label="anger"):
    arrays = {
        "vertices": np.zeros((0, 4, 3), np.float32),
        "faces": np.array([[0, 1, 2]], np.int32),
        "frame_index": np.zeros(0, np.int32),
    }
    write_fit(path, arrays, subject, label, "empty", reason="ingestion left no frames")
    return path


def write_store(path, keys):
    with h5py.File(path, "w") as f:
        for key in keys:
            f.create_group(f"sequences/{key}")
        f["template/vertices"] = np.zeros((4, 3), np.float32)
        f["template/faces"] = np.array([[0, 1, 2]], np.int32)
    return path


def test_the_first_kept_sequence_with_frames_is_chosen(tmp_path):
    fit, scan = write_fake_fit_and_scan(tmp_path)  # F001 / surprise, 6 frames
    empty = write_empty_fit(tmp_path / "empty.h5")
    store = write_store(tmp_path / "store.h5", ["F001__surprise"])
    assert choose_example([(empty, None), (fit, scan)], store) == (fit, scan)
    assert choose_example([(empty, None), (fit, scan)]) == (fit, scan)  # no store: frames suffice
    dropped = write_store(tmp_path / "other.h5", ["F000__anger"])  # the fit was dropped by the store
    assert choose_example([(empty, None), (fit, scan)], dropped) is None
    assert choose_example([], store) is None


def test_report_with_an_empty_first_sequence_still_draws_a_kept_one(tmp_path):
    inputs = write_fold_outputs(tmp_path)
    inputs.store = None  # the fake store has no template; without a store, frames decide
    fit, scan = write_fake_fit_and_scan(tmp_path)
    inputs.examples = [(write_empty_fit(tmp_path / "empty.h5"), None), (fit, scan)]
    build_report(inputs, tmp_path / "report")
    image = imread(tmp_path / "report" / "registered_sequence.png")
    height, width = image.shape[:2]
    assert width > 3 * height  # the fit's frame panels, not a one-panel placeholder
