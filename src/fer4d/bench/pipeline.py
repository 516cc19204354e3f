"""``fer4d bench pipeline``: every stage's measured cost per unit, projected to a BU-4DFE-sized run.

Input: a finished run's folder (``results``): Snakemake's per-job benchmarks
(``benchmarks/**/*.tsv``: CPU seconds and wall seconds of each job), its resolved config and its
store (frames per sequence, folds). Model of one job: ``CPU = fixed + per_unit × units``, a line
fitted through the rule's jobs where their sizes differ (ingest, fit), else with the fixed part
set to the start-up measured here (a fresh Python importing torch; the fixed part is what Snakemake
job start-up costs). Units grow with the data as follows (V: mesh
vertices, in thousands; frames: frames a job handles):

- ingest: frames × scan V (each job: one sequence)        - fit: frames × template V (one subject)
- store: all frames × template V                          - hierarchy: template V
- train_autoencoder: epochs × frames per epoch × template V (one job per fold)
- embed: all frames × template V (per fold)               - train_transformer: training frames (per fold)
- train_baseline: training frames (per fold and baseline kind)
- the rest (report, quarantine, run_config, memory_benchmark, synth_model): one unit per job.

The projection is that model evaluated at the target size (default: BU-4DFE, 101 subjects × 6
expressions × 100 frames of 35k-vertex scans, a 5,023-vertex FLAME template, 10 folds), on this
machine's cores: per-sequence, per-subject and per-fold jobs spread over ``cores``; a lone job on one core.
``synthesize`` (the synthetic data generator) is reported but not projected: a real dataset is read.
With a CUDA GPU the spiral auto-encoder's training throughput is measured on CPU and GPU, and the
auto-encoder and embedding stages are also projected on the GPU; without one the JSON says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer4d.bench.output import emit
from fer4d.formats.store import MeshStore
from fer4d.store.folds import make_folds
from fer4d.store.options import FoldOptions

STARTUP_IMPORTS = "import torch, fer4d"
NOT_PROJECTED = {"synthesize", "all"}


@dataclass(frozen=True)
class Size:
    """A dataset's size as the cost model sees it."""

    frames: list[int]  # per sequence
    subjects: list[str]  # per sequence
    scan_kv: float  # scan vertices / 1000
    template_kv: float  # template vertices / 1000
    folds: list[tuple[list[int], int]]  # per fold: training sequence positions, AE frames per sequence per epoch

    def units(self, rule: str, config: dict) -> list[float]:
        """Units of every job of ``rule`` at this size (see the module docstring)."""
        epochs = config["autoencoder"]["epochs"]
        if rule == "ingest":
            return [n * self.scan_kv for n in self.frames]
        if rule == "fit":  # one job per subject, in the order of their benchmark files
            frames: dict[str, int] = {}
            for subject, n in zip(self.subjects, self.frames, strict=True):
                frames[subject] = frames.get(subject, 0) + n
            return [frames[subject] * self.template_kv for subject in sorted(frames)]
        if rule == "store":
            return [sum(self.frames) * self.template_kv]
        if rule == "hierarchy":
            return [self.template_kv]
        if rule == "train_autoencoder":
            return [
                epochs * sum(min(self.frames[i], per or self.frames[i]) for i in train) * self.template_kv
                for train, per in self.folds
            ]
        if rule == "embed":
            return [sum(self.frames) * self.template_kv for _ in self.folds]
        if rule == "train_transformer":
            return [float(sum(self.frames[i] for i in train)) for train, _ in self.folds]
        if rule == "train_baseline":  # one job per fold and kind, named {fold}_{kind}: their file order
            kinds = config["baselines"]["kinds"]
            jobs = {f"{fold}_{kind}": train for fold, (train, _) in enumerate(self.folds) for kind in kinds}
            return [float(sum(self.frames[i] for i in jobs[name])) for name in sorted(jobs)]
        return [1.0]


def read_benchmarks(results: Path) -> dict[str, list[dict[str, float]]]:
    """Rule → its jobs' ``{"cpu_s", "wall_s"}`` from ``benchmarks/RULE.tsv`` or ``benchmarks/RULE/**.tsv``."""
    jobs: dict[str, list[dict[str, float]]] = {}
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        rule = path.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
        with path.open() as f:
            for row in csv.DictReader(f, delimiter="\t"):
                jobs.setdefault(rule, []).append({"cpu_s": float(row["cpu_time"]), "wall_s": float(row["s"])})
    return jobs


def run_size(results: Path, config: dict) -> Size:
    """The size of the finished run in ``results`` (frames from its store, scan and template sizes)."""
    with MeshStore(results / "store" / "dataset.h5") as store:
        keys = store.keys()
        infos = [store.info(k) for k in keys]
        position = {k: i for i, k in enumerate(keys)}
        per = config["autoencoder"].get("frames_per_sequence", 0)
        folds = [([position[k] for k in store.fold(i).train], per) for i in range(store.n_folds)]
        template_kv = len(store.template_vertices) / 1000
    return Size(
        frames=[i.n_frames for i in infos],
        subjects=[i.subject for i in infos],
        scan_kv=config["synthetic"]["scan_points"] / 1000,
        template_kv=template_kv,
        folds=folds,
    )


def target_size(
    subjects: int, expressions: int, frames: int, scan_vertices: int, template_vertices: int, k: int, config: dict
) -> Size:
    """A dataset of ``subjects × expressions`` sequences of ``frames`` frames, with ``k`` folds as the run makes them."""
    names = [f"S{s:03d}" for s in range(subjects) for _ in range(expressions)]
    labels = [f"e{e}" for _ in range(subjects) for e in range(expressions)]
    keys = [f"{s}/{e}" for s, e in zip(names, labels, strict=True)]
    options = FoldOptions.from_dict({**config["folds"], "scheme": "kfold", "k": k})
    position = {key: i for i, key in enumerate(keys)}
    per = config["autoencoder"].get("frames_per_sequence", 0)
    folds = [([position[key] for key in fold.train], per) for fold in make_folds(keys, names, labels, options, 0)]
    return Size([frames] * len(keys), names, scan_vertices / 1000, template_vertices / 1000, folds)


def startup_cpu_s(repeats: int = 2) -> float:
    """CPU seconds of a fresh Python importing torch (best of ``repeats``): what a job of a
    stage that uses torch pays before its work."""
    costs = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", STARTUP_IMPORTS], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        costs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(costs)


def job_cost_model(units: list[float], cpu: list[float], startup: float) -> tuple[float, float]:
    """``(fixed CPU s per job, CPU s per unit)`` of one rule's jobs: a least-squares line through
    (units, CPU) where the jobs' sizes differ enough (>= 3 jobs, sizes spread by >= 10 %), else
    the measured ``startup`` as the fixed part; the fixed part is kept within [0, cheapest job]."""
    units_array, cpu_array = np.asarray(units, float), np.asarray(cpu, float)
    spread = units_array.std() / max(units_array.mean(), 1e-9)
    fixed = float(np.polyfit(units_array, cpu_array, 1)[1]) if len(units) >= 3 and spread >= 0.1 else startup
    fixed = min(max(fixed, 0.0), float(cpu_array.min()))
    return fixed, float((cpu_array - fixed).sum() / max(units_array.sum(), 1e-9))


def wall_on_cores(job_cpu_s: list[float], cores: int, threads: int) -> float:
    """Wall seconds for independent jobs on ``cores`` (each using ``threads``): longest-first greedy."""
    slots = max(1, cores // max(1, threads))
    finish = [0.0] * slots
    for cost in sorted(job_cpu_s, reverse=True):
        finish[int(np.argmin(finish))] += cost / min(threads, cores)
    return max(finish)


def gpu_speedup(template_vertices: int) -> dict:
    """Spiral auto-encoder training meshes/s on CPU and on the CUDA GPU, or why there is none."""
    import torch

    if not torch.cuda.is_available():
        return {"available": False, "note": "torch.cuda.is_available() is False: no GPU here, CPU projection only"}
    from fer4d.bench.spiral import run as spiral_run

    cpu = spiral_run(template_vertices, 16, 5, "cpu", 0)["ours_meshes_per_s"]
    gpu = spiral_run(template_vertices, 16, 20, "cuda", 0)["ours_meshes_per_s"]
    return {"available": True, "name": torch.cuda.get_device_name(0), "ae_speedup": gpu / cpu}


def project(results: Path, target: dict, cores: int) -> dict:
    """Per stage: measured jobs, start-up, CPU per unit, and the projection to ``target``."""
    config = json.loads((results / "config.json").read_text())
    jobs = read_benchmarks(results)
    run, big = run_size(results, config), target_size(**target, config=config)
    startup = startup_cpu_s()
    gpu = gpu_speedup(target["template_vertices"])
    threads = {rule: values.get("threads", 1) for rule, values in config["resources"].items()}
    stages, total_cpu, total_wall, total_gpu_wall = [], 0.0, 0.0, 0.0
    for rule, measured in sorted(jobs.items()):
        units = run.units(rule, config)
        if len(units) != len(measured):  # e.g. sequences the store dropped: average over what is known
            units = [float(np.mean(units))] * len(measured)
        cpu = [job["cpu_s"] for job in measured]
        fixed, per_unit = job_cost_model(units, cpu, startup)
        stage = {
            "stage": rule,
            "jobs": len(measured),
            "cpu_s": round(sum(cpu), 1),
            "wall_s": round(sum(job["wall_s"] for job in measured), 1),
            "fixed_cpu_s_per_job": round(fixed, 2),
            "cpu_s_per_unit": float(f"{per_unit:.4g}"),
        }
        if rule not in NOT_PROJECTED:
            big_units = big.units(rule, config)
            big_cpu = [fixed + per_unit * u for u in big_units]
            stage_threads = threads.get(rule, threads.get("default", 1))
            wall = wall_on_cores(big_cpu, cores, stage_threads)
            stage.update(
                projected_jobs=len(big_units),
                projected_cpu_h=round(sum(big_cpu) / 3600, 2),
                projected_wall_h=round(wall / 3600, 2),
            )
            total_cpu, total_wall = total_cpu + sum(big_cpu), total_wall + wall
            if gpu["available"] and rule in ("train_autoencoder", "embed"):
                gpu_cpu = [fixed + per_unit * u / gpu["ae_speedup"] for u in big_units]
                gpu_wall = wall_on_cores(gpu_cpu, 1, 1)
                stage["projected_gpu_wall_h"] = round(gpu_wall / 3600, 2)
                total_gpu_wall += gpu_wall - wall
        stages.append(stage)
    result = {
        "bench": "pipeline",
        "results": str(results),
        "target": target,
        "cores": cores,
        "stages": stages,
        "projected_cpu_h": round(total_cpu / 3600, 1),
        "projected_wall_h": round(total_wall / 3600, 1),
        "gpu": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in gpu.items()},
    }
    if gpu["available"]:
        result["projected_wall_h_with_gpu"] = round((total_wall + total_gpu_wall) / 3600, 1)
    return result


def markdown_table(result: dict) -> str:
    """The README's table: one row per stage."""
    rows = ["| stage | jobs run | CPU s run | fixed CPU s/job | CPU s per unit | jobs at target | CPU h | wall h |"]
    rows.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in result["stages"]:
        projected = [str(s.get(k, "–")) for k in ("projected_jobs", "projected_cpu_h", "projected_wall_h")]
        measured = [
            s["stage"],
            str(s["jobs"]),
            str(s["cpu_s"]),
            str(s["fixed_cpu_s_per_job"]),
            str(s["cpu_s_per_unit"]),
        ]
        rows.append("| " + " | ".join(measured + projected) + " |")
    return "\n".join(rows)


def _main(args: argparse.Namespace) -> int:
    target = {
        "subjects": args.subjects,
        "expressions": args.expressions,
        "frames": args.frames,
        "scan_vertices": args.scan_vertices,
        "template_vertices": args.template_vertices,
        "k": args.folds,
    }
    result = project(Path(args.results), target, args.cores)
    if args.markdown:
        print(markdown_table(result))
    return emit(result, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pipeline", help="per-stage cost per unit of a finished run, projected to BU-4DFE")
    parser.add_argument("--results", default="results", help="a finished run's results folder")
    parser.add_argument("--subjects", type=int, default=101)
    parser.add_argument("--expressions", type=int, default=6)
    parser.add_argument("--frames", type=int, default=100, help="frames per sequence")
    parser.add_argument("--scan-vertices", type=int, default=35000)
    parser.add_argument("--template-vertices", type=int, default=5023)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)), help="cores of the machine")
    parser.add_argument("--markdown", action="store_true", help="also print the README table")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.set_defaults(func=_main)
