"""`fer4d bench memory --json`: schema of the last line on a tiny configuration; a point whose
process dies."""

from __future__ import annotations

import json
import os

import pytest

from fer4d.bench.memory import MemoryBenchmarkOptions
from fer4d.cli import main
from fer4d.train.classifier.options import TransformerOptions


def test_memory_bench_prints_schema_json_last(capsys, tmp_path):
    options = json.dumps({"d_model": 8, "heads": 2, "layers": 1, "ff": 16})
    code = main(
        [
            "bench",
            "memory",
            "--json",
            "--batch",
            "2",
            "--frames",
            "6",
            "--device",
            "cpu",
            "--in-dim",
            "4",
            "--steps",
            "1",
            "--options",
            options,
            "--out",
            str(tmp_path / "m.json"),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["batch"] == 2 and result["device"] == "cpu"
    assert [p["frames"] for p in result["points"]] == [6]
    for point in result["points"]:
        assert point["peak_mb"] >= 0 and point["ms_per_batch"] > 0 and point["baseline_mb"] > 10
    assert json.loads((tmp_path / "m.json").read_text()) == result


def test_memory_options_reject_unknown_keys():
    assert MemoryBenchmarkOptions.from_dict({"frames": [16, 32]}).frames == (16, 32)
    with pytest.raises(ValueError, match="unknown memory_benchmark"):
        MemoryBenchmarkOptions.from_dict({"batches": 3})


def test_a_memory_point_whose_process_dies_is_an_error_naming_the_point(monkeypatch):
    from fer4d.bench import memory

    monkeypatch.setattr(memory, "measure_point", lambda *args: os._exit(9))  # the forked child dies
    with pytest.raises(RuntimeError, match="memory point 64: its process died"):
        memory.measure_in_subprocess(64, 2, 8, TransformerOptions(), steps=1, threads=1)
