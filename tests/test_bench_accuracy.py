"""``fer4d bench accuracy``: the harder synthetic setting's configs, clean and noisy, and the summary
(the workflow runs themselves are replaced by a stand-in; the tiny workflow test runs the real one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from fer4d.bench import accuracy
from fer4d.cli import main
from fer4d.synth.options import SynthOptions

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def merged(overrides: dict) -> dict:
    """config.yaml with the overrides on top (as Snakemake merges --configfile), validated."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key, value in overrides.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    validate(config, str(SCHEMA))
    return config


def test_clean_and_noisy_configs_differ_only_in_scan_defects(tmp_path):
    noisy = merged(accuracy.bench_config(3, "noisy", None, tmp_path / "n"))
    clean = merged(accuracy.bench_config(3, "clean", 12, tmp_path / "c"))
    options = SynthOptions.from_dict(noisy["synthetic"])
    assert (options.difficulty, options.noise_mm, options.hole_fraction) == (1.0, 0.5, 0.05)
    assert (options.outlier_fraction, options.fragments, options.seed, options.subjects) == (0.01, 4, 3, 8)
    assert noisy["seed"] == clean["seed"] == 3 and noisy["results"] == str(tmp_path / "n")
    clean_options = SynthOptions.from_dict(clean["synthetic"])
    assert clean_options == options.replace(
        noise_mm=0.0, hole_fraction=0.0, outlier_fraction=0.0, fragments=0, subjects=12
    )


def test_dry_run_writes_one_config_per_seed_and_condition(tmp_path, capsys):
    assert main(["bench", "accuracy", "--seeds", "1", "2", "--out", str(tmp_path), "--dry-run", "--json"]) == 0
    configs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["configs"]
    assert [Path(c).parent.name for c in configs] == ["seed1_clean", "seed1_noisy", "seed2_clean", "seed2_noisy"]
    assert json.loads(Path(configs[3]).read_text())["synthetic"]["noise_mm"] == 0.5


def test_accuracies_per_seed_with_mean_std_and_drop(tmp_path, monkeypatch, capsys):
    fake = {(1, "clean"): 0.98, (1, "noisy"): 0.9, (2, "clean"): 1.0, (2, "noisy"): 0.96}
    runs = []

    def run_workflow(snakefile, configs, workdir, cores):
        config = json.loads(configs[-1].read_text())
        condition = "clean" if config["synthetic"]["noise_mm"] == 0 else "noisy"
        report = Path(config["results"]) / "report"
        report.mkdir(parents=True)
        (report / "metrics.json").write_text(json.dumps({"accuracy": fake[config["seed"], condition]}))
        runs.append((workdir.name, [c.name for c in configs], cores))

    monkeypatch.setattr(accuracy, "run_workflow", run_workflow)
    base = tmp_path / "tiny.yaml"
    base.write_text("{}")
    argv = ["bench", "accuracy", "--out", str(tmp_path / "b"), "--configfile", str(base), "--cores", "3", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r[0] for r in runs] == ["seed1_clean", "seed1_noisy", "seed2_clean", "seed2_noisy"]
    assert runs[0][1:] == (["tiny.yaml", "bench_config.json"], 3)
    assert result["seeds"]["1"] == {"clean": 0.98, "noisy": 0.9, "drop_points": pytest.approx(8.0)}
    assert result["noisy"] == {"mean": pytest.approx(0.93), "std": pytest.approx(0.03)}
    assert result["drop_points"]["mean"] == pytest.approx(6.0) and result["drop_points"]["std"] == pytest.approx(2.0)
    assert result["setting"] == accuracy.HARDER
