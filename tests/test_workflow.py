"""The workflow front door: dry run, lint, formatting, and one tiny end-to-end run."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import pytest
import yaml

from fer4d import LABELS
from workflow_helpers import ROOT, TINY_CONFIG, planned_jobs, snakemake

STAGES = [
    "synth_model",
    "synthesize",
    "ingest",
    "fit",
    "store",
    "hierarchy",
    "train_autoencoder",
    "embed",
    "train_transformer",
    "train_baseline",
    "memory_benchmark",
    "report",
    "quarantine",
    "run_config",
]


def test_dry_run_plans_every_stage(tmp_path):
    result = snakemake(tmp_path, "-n", "-c1")
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result.stdout)
    assert set(STAGES) <= set(jobs), jobs
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    n_sequences = tiny["synthetic"]["subjects"] * len(LABELS)
    assert jobs["ingest"] == n_sequences and jobs["fit"] == tiny["synthetic"]["subjects"]  # fit: per subject
    assert jobs["train_autoencoder"] == jobs["embed"] == jobs["train_transformer"] == tiny["folds"]["k"]
    assert jobs["train_baseline"] == tiny["folds"]["k"] * len(tiny["baselines"]["kinds"])


def test_config_is_validated_with_a_clear_error(tmp_path):
    result = snakemake(tmp_path, "-n", "-c1", "--config", "device=42")
    assert result.returncode != 0
    assert "device" in result.stderr + result.stdout


def test_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_is_clean():
    files = ["Snakefile", *map(str, sorted((ROOT / "workflow" / "rules").glob("*.smk")))]
    result = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", *files], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_end_to_end_produces_a_report(tiny_local_run):
    metrics = json.loads((tiny_local_run / "results" / "report" / "metrics.json").read_text())
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    n_sequences = tiny["synthetic"]["subjects"] * len(LABELS)
    assert metrics["labels"] == list(LABELS)
    confusion = metrics["confusion_matrix"]
    assert len(confusion) == len(LABELS) and all(len(row) == len(LABELS) for row in confusion)
    assert sum(map(sum, confusion)) == n_sequences  # every sequence tested exactly once
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert len(metrics["folds"]) == tiny["folds"]["k"]
    reconstruction = metrics["reconstruction"]  # the auto-encoder's test error per fold and region
    assert len(reconstruction["regions"]) == tiny["folds"]["k"]
    assert set(reconstruction["summary"]) == {"all", "mouth", "eyes", "brows"}
    summary = (tiny_local_run / "results" / "report" / "report.md").read_text()
    assert "| mean ± std |" in summary and "### Baselines on the same folds" in summary
    baselines = metrics["baselines"]  # the transformer and each baseline, on the same folds
    assert list(baselines) == ["transformer", *tiny["baselines"]["kinds"]]
    assert all(b["n"] == n_sequences and len(b["folds"]) == tiny["folds"]["k"] for b in baselines.values())
    assert baselines["transformer"]["accuracy"] == metrics["accuracy"]
    for name in ["confusion_matrix.png", "confusion_matrix.svg", "training_curves.png"]:
        assert (tiny_local_run / "results" / "report" / name).stat().st_size > 1000
    with h5py.File(tiny_local_run / "results" / "store" / "dataset.h5") as store:
        assert len(store["sequences"]) == n_sequences
    quarantine = json.loads((tiny_local_run / "results" / "quarantine.json").read_text())
    assert quarantine["ingest"] == []


@pytest.mark.slow
def test_nothing_to_do_after_a_complete_run(tiny_local_run):
    result = snakemake(tiny_local_run, "-n", "-c1")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("key", ["epochs", "train_on_validation"])
def test_changing_a_training_parameter_reruns_only_downstream(tiny_local_run, tmp_path, key):
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    if key == "epochs":
        tiny["transformer"]["epochs"] += 1
    else:
        tiny["transformer"][key] = not tiny["transformer"].get(key, True)
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(tiny))
    result = snakemake(tiny_local_run, "-n", "-c1", "--configfile", str(changed))
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result.stdout)
    # The GRU and the FLAME-parameter transformer share the transformer's training recipe; the
    # linear baselines do not.
    assert set(jobs) == {"train_transformer", "train_baseline", "report", "run_config", "all"}, jobs
    assert jobs["train_transformer"] == jobs["train_baseline"] / 2 == tiny["folds"]["k"]
    outputs = [line for line in result.stdout.splitlines() if line.strip().startswith("output:")]
    rerun = [line.rsplit("/", 1)[-1] for line in outputs if "/baselines/" in line]
    assert sorted(rerun) == sorted(["gru.json", "flame_transformer.json"] * tiny["folds"]["k"]), rerun


def test_a_subject_subset_and_a_label_subset_plan_only_their_sequences(tmp_path):
    """``dataset.subjects`` (a file, minus a list) and ``labels.names`` select what is planned."""
    (tmp_path / "subset.txt").write_text("F001\nM001\nF002  # the three tiny subjects\n")
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        yaml.safe_dump(
            {
                "dataset": {"subjects": {"include": str(tmp_path / "subset.txt"), "exclude": ["M001"]}},
                "labels": {"names": ["happiness", "surprise"]},
                "folds": {"k": 2},
            }
        )
    )
    result = snakemake(tmp_path / "run", "-n", "-c1", "--configfile", str(TINY_CONFIG), str(protocol))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout)
    assert jobs["ingest"] == 2 * 2 and jobs["fit"] == 2 and jobs["train_transformer"] == 2, jobs
    ingested = {line.split("results/ingest/")[1] for line in result.stdout.splitlines() if "results/ingest/" in line}
    assert {f.split()[0].rstrip(",") for f in ingested} >= {"F001/happiness.h5", "F002/surprise.h5"}
    assert not any("M001" in f or "anger" in f for f in ingested), ingested


@pytest.mark.slow
def test_snakemake_report_holds_the_figures_with_captions(tiny_local_run):
    result = snakemake(tiny_local_run, "--report", str(tiny_local_run / "report.html"))
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tiny_local_run / "report.html").read_text(errors="replace")
    for figure in ["confusion_matrix.png", "training_curves.png", "registration_quality.png", "memory.png"]:
        assert figure in html
    assert "Figure 2 of the reference paper" in html  # the confusion matrix caption


@pytest.mark.slow
def test_pipeline_bench_projects_every_stage_of_a_finished_run(tiny_local_run, capsys):
    from fer4d.cli import main as cli

    results = str(tiny_local_run / "results")
    assert cli(["bench", "pipeline", "--results", results, "--json", "--subjects", "101", "--cores", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stages = {s["stage"]: s for s in result["stages"]}
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    assert stages["ingest"]["jobs"] == tiny["synthetic"]["subjects"] * len(LABELS)
    assert stages["fit"]["jobs"] == tiny["synthetic"]["subjects"]  # one per subject
    assert stages["ingest"]["projected_jobs"] == 101 * 6 and stages["fit"]["projected_jobs"] == 101
    assert stages["train_autoencoder"]["projected_jobs"] == 10
    assert stages["train_baseline"]["projected_jobs"] == 10 * len(tiny["baselines"]["kinds"])
    assert stages["train_baseline"]["projected_cpu_h"] > stages["train_baseline"]["cpu_s"] / 3600  # 10 bigger folds
    assert all(s["cpu_s_per_unit"] >= 0 for s in stages.values())
    assert "projected_cpu_h" not in stages["synthesize"]  # a real dataset is read, not generated
    assert result["projected_cpu_h"] == pytest.approx(
        sum(s.get("projected_cpu_h", 0) for s in stages.values()), abs=0.5
    )
    assert result["gpu"]["available"] == torch_cuda_available()


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
