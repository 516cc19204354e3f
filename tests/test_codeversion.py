"""Code versions follow the real imports: each rule's code param is the hash of its script's
fer4d import closure, so an edit reruns exactly the stages whose code it changes.

The fast tests check the closure itself; the slow ones edit a module in a copy of the source
tree and ask Snakemake (``-n``) what it would rerun after a complete run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from fer4d.codeversion import code_version, import_closure
from workflow_helpers import ROOT, TINY_CONFIG, planned_jobs, snakemake

SCRIPTS = ROOT / "workflow" / "scripts"
PACKAGE = Path(import_closure.__code__.co_filename).parent  # the fer4d that is imported


def closure(script: str) -> set[str]:
    return {str(path.relative_to(PACKAGE)) for path in import_closure(SCRIPTS / f"{script}.py")}


def test_fit_runs_fitting_and_flame_code_but_not_the_synthetic_face_or_training():
    fit = closure("fit")
    assert {"fitting/normal_equations.py", "fitting/stage.py", "flame/layer.py", "device.py", "parallel.py"} <= fit
    assert {"__init__.py", "fitting/__init__.py", "formats/ingested.py", "formats/fit.py"} <= fit
    assert not {p for p in fit if p.startswith(("synth/", "train/", "store/", "report/", "io/"))}


def test_the_auto_encoder_does_not_run_the_classifier_and_ingest_not_the_generator():
    assert not {p for p in closure("train_autoencoder") | closure("embed") if p.startswith("train/classifier/")}
    assert "train/classifier/training.py" in closure("train_transformer")
    assert "train/classifier/training.py" not in closure("memory_benchmark")
    assert not {p for p in closure("ingest") if p.startswith(("synth/", "fitting/"))}
    assert "formats/groundtruth.py" in closure("ingest")


def test_package_inits_and_imports_inside_functions_count(tmp_path):
    root = tmp_path / "fer4d"
    (root / "a").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "a" / "__init__.py").write_text("from fer4d.a.b import f\n")
    (root / "a" / "b.py").write_text("def f():\n    from fer4d import c\n")
    (root / "c.py").write_text("import json\n")
    (root / "unused.py").write_text("")
    script = tmp_path / "script.py"
    script.write_text("from fer4d.a.b import f\n")
    found = {str(p.relative_to(root)) for p in import_closure(script, root)}
    assert found == {"__init__.py", "a/__init__.py", "a/b.py", "c.py"}


def test_the_hash_changes_with_the_closure_only():
    fit = code_version.__wrapped__(SCRIPTS / "fit.py")
    assert fit == code_version.__wrapped__(SCRIPTS / "fit.py") and len(fit) == 12
    assert fit != code_version.__wrapped__(SCRIPTS / "ingest.py")
    with pytest.raises(ValueError, match="no such workflow script"):
        code_version.__wrapped__(SCRIPTS / "nope.py")


def edited_copy(tmp_path: Path, module: str) -> dict[str, str]:
    """A copy of the source tree with one line appended to ``module`` (a path under fer4d/);
    the environment that makes Snakemake import it."""
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "fer4d", ignore=shutil.ignore_patterns("__pycache__"))
    with open(src / "fer4d" / module, "a") as handle:
        handle.write("\n# an edit\n")
    return {**os.environ, "PYTHONPATH": str(src)}


def planned_after_edit(run_dir: Path, tmp_path: Path, module: str, *args: str) -> dict[str, int]:
    result = snakemake(run_dir, "-n", "-c1", *args, env=edited_copy(tmp_path, module))
    assert result.returncode == 0, result.stderr[-3000:]
    return planned_jobs(result.stdout)


UPSTREAM_OF_FIT = {"synth_model", "synthesize", "ingest"}
TRAINING = {"train_autoencoder", "embed", "train_transformer"}


@pytest.mark.slow
def test_editing_a_fitting_module_reruns_fit_and_downstream_only(tiny_local_run, tmp_path):
    jobs = planned_after_edit(tiny_local_run, tmp_path, "fitting/normal_equations.py")
    assert {"fit", "store", "hierarchy", *TRAINING, "report"} <= set(jobs), jobs
    assert not UPSTREAM_OF_FIT & set(jobs), jobs


@pytest.mark.slow
def test_editing_the_classifier_reruns_no_auto_encoder(tiny_local_run, tmp_path):
    jobs = planned_after_edit(tiny_local_run, tmp_path, "train/classifier/training.py")
    assert "train_transformer" in jobs, jobs
    assert not {"train_autoencoder", "embed", "fit", "store", "hierarchy", "memory_benchmark"} & set(jobs), jobs


@pytest.mark.slow
def test_editing_the_synthetic_face_reruns_no_fit_of_a_real_dataset(tiny_local_run, tmp_path):
    """A directory dataset (the tiny run's raw scans, read as real data): fit one subject, then
    edit the synthetic face generator (nothing is planned) and a fitting module (the fit is)."""
    from fer4d.io.layouts import discover_sequences

    raw = tiny_local_run / "results" / "raw"
    entry = discover_sequences(raw)[0]
    config = tmp_path / "directory.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "dataset": {"source": "directory", "root": str(raw), "layout": "bu4dfe", "extension": "wrl"},
                "flame": {"model": str(tiny_local_run / "results" / "model" / "flame_synthetic.pkl")},
            }
        )
    )
    run_dir = tmp_path / "run"
    target = f"results/fit/{entry.subject}"
    args = (target, "--configfile", str(TINY_CONFIG), str(config))  # target first: --configfile takes a list
    done = snakemake(run_dir, "-c2", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert planned_after_edit(run_dir, tmp_path / "a", "synth/face.py", *args) == {}
    assert planned_after_edit(run_dir, tmp_path / "b", "synth/facemodel/expressions.py", *args) == {}
    assert planned_after_edit(run_dir, tmp_path / "c", "fitting/rigid.py", *args) == {"fit": 1}
