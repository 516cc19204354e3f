"""``fer4d flame bench``: the last line of output is one JSON object with timings."""

from __future__ import annotations

import json

from fer4d.cli import main


def test_bench_prints_json_last(capsys):
    argv = ["flame", "bench", "--vertices", "300", "--batch", "1", "4", "--repeats", "2", "--threads", "1"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["vertices"] == 300 and result["threads"] == 1
    assert [row["batch"] for row in result["results"]] == [1, 4]
    assert all(row["forward_ms"] > 0 and row["forward_backward_ms"] > 0 for row in result["results"])
    assert len(lines) == 3  # one human-readable line per batch size, then the JSON
