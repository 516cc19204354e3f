"""``fer4d bench accuracy``: expression accuracy on the harder synthetic setting, scanned noisy and
scanned clean, over several seeds.

The harder setting (issue 19): ``difficulty: 1.0`` (more individual style, intensity variation,
emotion blending and head motion than the default 0.75), scans with 0.5 mm noise, 5 % of the
surface in holes, 1 % outliers and 4 stray fragments. The clean twin scans the *same* sequences
(the synthesizer draws each recording's plan and motion before its scans) with no noise, holes,
outliers or fragments, so the drop from clean to noisy is what the scan defects cost end to end.

Each seed is a new synthetic dataset (subjects, recordings) and new training seeds: the whole
workflow runs once per seed and condition, each in its own results folder, through Snakemake on a
generated config. With one sequence worth 100/48 points at the default eight subjects, single
runs cannot tell 2-point effects apart; the mean ± std over seeds (and ``--subjects`` for more
test sequences per run) can. A base config (``--configfile``, e.g. the tests' tiny config) is
applied first, the setting on top.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import fer4d
from fer4d.bench.output import emit
from fer4d.errors import InputFileError
from fer4d.report.files import REPORT_FILES

HARDER = {"difficulty": 1.0, "noise_mm": 0.5, "hole_fraction": 0.05, "outlier_fraction": 0.01, "fragments": 4}
"""The harder synthetic setting's ``synthetic`` keys (scanned noisy)."""
CLEAN = {"noise_mm": 0.0, "hole_fraction": 0.0, "outlier_fraction": 0.0, "fragments": 0}
"""What the clean twin changes: no scan defects."""
CONDITIONS = ("clean", "noisy")


def bench_config(seed: int, condition: str, subjects: int | None, results: Path) -> dict:
    """The workflow config overrides of one run: the harder setting for ``seed`` (dataset and
    training), scanned ``noisy`` or ``clean``, results in ``results``."""
    synthetic = {**HARDER, **(CLEAN if condition == "clean" else {}), "seed": seed}
    if subjects is not None:
        synthetic["subjects"] = subjects
    return {"results": str(results), "seed": seed, "synthetic": synthetic}


def default_snakefile() -> Path:
    """The repository's Snakefile beside the installed source tree (an editable install)."""
    return Path(fer4d.__file__).resolve().parents[2] / "Snakefile"


def run_workflow(snakefile: Path, configs: list[Path], workdir: Path, cores: int) -> None:
    """Snakemake on ``configs`` (applied in order), working folder ``workdir``; its output goes to
    ``workdir/snakemake.log``; a failed run raises with the log's tail."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "snakemake.log"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir)]
    command += ["--configfile", *map(str, configs), "--cores", str(cores), "--resources", "gpu=0"]
    with open(log, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=snakefile.parent)
    if done.returncode != 0:
        raise RuntimeError(f"workflow failed (exit {done.returncode}); see {log}:\n{log.read_text()[-3000:]}")


def read_accuracy(results: Path) -> float:
    """Pooled cross-validated accuracy of a finished run (``report/metrics.json``)."""
    return float(json.loads((results / "report" / REPORT_FILES["metrics"]).read_text())["accuracy"])


def summarise(per_seed: dict[int, dict[str, float]]) -> dict:
    """Per seed ``{clean, noisy, drop}`` (accuracy, points of drop: 100 × (clean − noisy)) and
    their mean and population std over seeds."""
    rows = {seed: {**acc, "drop_points": 100 * (acc["clean"] - acc["noisy"])} for seed, acc in per_seed.items()}
    summary = {}
    for name in ("clean", "noisy", "drop_points"):
        values = [row[name] for row in rows.values()]
        summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return {"seeds": {str(seed): row for seed, row in rows.items()}, **summary}


def main(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    snakefile = Path(args.snakefile).resolve() if args.snakefile else default_snakefile()
    if not snakefile.is_file():
        raise InputFileError(snakefile, "no Snakefile here: pass --snakefile")
    base = [Path(p).resolve() for p in args.configfile]
    per_seed = {}
    for seed in args.seeds:
        per_seed[seed] = {}
        for condition in CONDITIONS:
            folder = out / f"seed{seed}_{condition}"
            folder.mkdir(parents=True, exist_ok=True)
            config = folder / "bench_config.json"
            config.write_text(json.dumps(bench_config(seed, condition, args.subjects, folder / "results"), indent=1))
            if not args.dry_run:
                run_workflow(snakefile, [*base, config], folder, args.cores)
                per_seed[seed][condition] = read_accuracy(folder / "results")
    if args.dry_run:
        return emit({"configs": sorted(str(p) for p in out.glob("seed*/bench_config.json"))}, args.json)
    return emit({"setting": HARDER, "subjects": args.subjects, **summarise(per_seed)}, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("accuracy", help="accuracy on the harder synthetic setting, clean and noisy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="dataset and training seeds")
    parser.add_argument("--subjects", type=int, default=None, help="synthetic subjects (default: the config's)")
    parser.add_argument("--out", default="bench-accuracy", help="folder for the runs (one per seed and condition)")
    parser.add_argument("--configfile", nargs="*", default=[], help="base config file(s), applied first")
    parser.add_argument("--snakefile", default=None, help="the workflow (default: the repository's)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--dry-run", action="store_true", help="write the configs only")
    parser.add_argument("--json", action="store_true", help="print only the JSON record")
    parser.set_defaults(func=main)
