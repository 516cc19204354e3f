"""Registered-mesh datasets (``dataset.source: registered``): frames already in the model's
topology skip ingest and fit, reach the store with the fit contract, and run end to end.

The meshes are the tiny run's own fitted frames, written as CoMA writes its sequences (one binary
PLY per frame, in metres, ``{subject}/{expression}/{expression}.{frame:06d}.ply``), with a head
rotation of their own that the stage must take out.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import pyvista as pv
import yaml

from fer4d.errors import InputFileError
from fer4d.fitting.geometry import kabsch, rotation_about
from fer4d.fitting.registered import import_registered_sequence, topology_problem, triangle_set
from fer4d.formats.fit import read_fit
from fer4d.formats.ingested import read_quarantine
from fer4d.io.scan import Scan
from fer4d.store.writer import neutral_mesh
from model_helpers import template_model
from workflow_helpers import TINY_CONFIG, planned_jobs, snakemake


def write_ply(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = np.hstack([np.full((len(faces), 1), 3), faces]).astype(np.int64)
    pv.PolyData(np.asarray(vertices, np.float64), cells.ravel()).save(path, binary=True)


def grid_mesh(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A bumpy (n*n, 3) mm surface patch and its triangles: a small 'model topology'."""
    x, y = np.meshgrid(np.linspace(-40, 40, n), np.linspace(-50, 50, n))
    vertices = np.stack([x.ravel(), y.ravel(), 10 * np.cos(x.ravel() / 20) * np.cos(y.ravel() / 25)], axis=1)
    quads = [(r * n + c, r * n + c + 1, (r + 1) * n + c) for r in range(n - 1) for c in range(n - 1)]
    quads += [(r * n + c + 1, (r + 1) * n + c + 1, (r + 1) * n + c) for r in range(n - 1) for c in range(n - 1)]
    return vertices, np.array(quads, np.int32)


def test_the_topology_check_takes_any_face_order_and_names_what_differs():
    vertices, faces = grid_mesh()
    triangles = triangle_set(faces)
    shuffled = np.random.default_rng(0).permutation(faces)[:, [1, 2, 0]]  # faces and corners reordered
    assert topology_problem(Scan(vertices, shuffled), len(vertices), triangles) is None
    problem = topology_problem(Scan(vertices[:-1], faces[:-2]), len(vertices), triangles)
    assert problem.startswith(f"{len(vertices) - 1} vertices, the model has {len(vertices)}")
    flipped = faces.copy()
    flipped[0] = [0, 11, 22]
    assert "triangles differ" in topology_problem(Scan(vertices, flipped), len(vertices), triangles)


def test_a_registered_sequence_becomes_a_fit_file_without_fit_only_fields(tmp_path):
    template, faces = grid_mesh()
    model = template_model(tmp_path / "model.npz", template, faces)
    rotation = rotation_about(np.array([0.2, 1.0, 0.1]), 0.3)
    folder = tmp_path / "FaceTalk_01" / "mouth_open"
    expressions = []
    for t in range(4):
        expression = template.copy()
        mouth = np.exp(-(template[:, 0] ** 2 + (template[:, 1] + 45) ** 2) / 200)
        expression[:, 2] += 2.0 * t * mouth  # the 'mouth' opens, up to 6 mm
        expressions.append(expression)
        write_ply(folder / f"mouth_open.{t:06d}.ply", (expression @ rotation.T + [5, -3, 20]) / 1000, faces)
    write_ply(folder / "mouth_open.000004.ply", template[:-1] / 1000, faces[:-2])  # another topology
    (folder / "mouth_open.000005.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\n")  # truncated
    frames = sorted(folder.glob("*.ply"))

    summary = import_registered_sequence(
        frames, model, tmp_path / "fit.h5", tmp_path / "q.json", "FaceTalk_01", "mouth_open"
    )
    assert summary["status"] == "ok" and summary["frames"] == 4 and summary["units"] == "m"
    fit = read_fit(tmp_path / "fit.h5", with_scan=True)
    assert fit.frame_index.tolist() == [0, 1, 2, 3]
    assert fit.params == {} and fit.quality == {}  # absent, not zero
    np.testing.assert_array_equal(fit.faces, faces)
    # metres -> mm, and the head rotation taken out: each frame lies on its expression again
    for t, expression in enumerate(expressions):
        assert np.abs(fit.vertices[t] - expression).max() < 0.3, t
    np.testing.assert_allclose(fit.vertices_scan[0], template @ rotation.T + [5, -3, 20], atol=1e-3)
    # the store's neutral mesh of a sequence without a fitted identity: its first frame
    np.testing.assert_array_equal(neutral_mesh(fit, None), fit.vertices[0])
    quarantined = {Path(item["file"]).name: item["problem"] for item in read_quarantine(tmp_path / "q.json")}
    assert set(quarantined) == {"mouth_open.000004.ply", "mouth_open.000005.ply"}
    assert "vertices, the model has 100" in quarantined["mouth_open.000004.ply"]

    with pytest.raises(InputFileError, match="mouth_open.000004.ply"):
        import_registered_sequence(
            frames[:5], model, tmp_path / "strict.h5", tmp_path / "s.json", "FaceTalk_01", "mouth_open", strict=True
        )
    assert not (tmp_path / "strict.h5").exists()


def test_a_sequence_with_no_usable_frame_is_an_empty_fit(tmp_path):
    template, faces = grid_mesh()
    model = template_model(tmp_path / "model.npz", template, faces)
    write_ply(tmp_path / "seq" / "a.000000.ply", template[:-1], faces[:-2])
    summary = import_registered_sequence(
        None, model, tmp_path / "fit.h5", tmp_path / "q.json", "S", "mouth_open", folder=tmp_path / "seq"
    )
    assert summary["status"] == "empty"
    assert read_fit(tmp_path / "fit.h5") is None
    problems = [item["problem"] for item in read_quarantine(tmp_path / "q.json")]
    assert any("only 0 usable frame(s)" in problem for problem in problems)


def comatise(tiny_run: Path, out: Path, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Write each fitted sequence of the tiny run as CoMA would hold it; return (subject, label)."""
    written = []
    for fit_path in sorted((tiny_run / "results" / "fit").glob("*/*.h5")):
        fit = read_fit(fit_path, with_scan=True)
        if fit is None:
            continue
        rotation = rotation_about(rng.normal(size=3), 0.2)
        for t, frame in enumerate(fit.vertices_scan):
            name = f"{fit.label}.{t:06d}.ply"
            write_ply(out / fit.subject / fit.label / name, (frame @ rotation.T) / 1000, fit.faces)
        written.append((fit.subject, fit.label))
    return written


@pytest.mark.slow
def test_a_registered_dataset_skips_fitting_and_runs_end_to_end(tiny_local_run, tmp_path):
    data = tmp_path / "coma"
    written = comatise(tiny_local_run, data, np.random.default_rng(1))
    bad_subject, bad_label = written[0]
    bad = data / bad_subject / bad_label / f"{bad_label}.000000.ply"
    faces = read_fit(next((tiny_local_run / "results" / "fit").glob("*/*.h5"))).faces
    write_ply(bad, np.zeros((10, 3)), faces[:3] % 10)  # one frame of another topology
    config = tmp_path / "registered.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "dataset": {"source": "registered", "root": str(data), "layout": "generic", "extension": "ply"},
                "flame": {"model": str(tiny_local_run / "results" / "model" / "flame_synthetic.pkl")},
                "baselines": {"kinds": ["mean_linear"]},
            }
        )
    )
    run = tmp_path / "run"
    planned = planned_jobs(snakemake(run, "-n", "--configfile", str(TINY_CONFIG), str(config)).stdout)
    assert planned["registered"] == len(written)
    assert "ingest" not in planned and "fit" not in planned
    done = snakemake(run, "-c2", "--configfile", str(TINY_CONFIG), str(config))
    assert done.returncode == 0, done.stderr[-5000:]
    results = run / "results"
    assert not list((results / "ingest").glob("*/*.h5")) and not (results / "logs" / "fit").exists()

    with (
        h5py.File(results / "store" / "dataset.h5") as store,
        h5py.File(tiny_local_run / "results" / "store" / "dataset.h5") as fitted,
    ):
        assert sorted(store["sequences"]) == sorted(fitted["sequences"])
        key = sorted(store["sequences"])[-1]
        group = store["sequences"][key]
        assert "quality" not in group and "params" not in group
        np.testing.assert_array_equal(group["neutral"][()], group["vertices"][0])
        # the fitted meshes moved rigidly (metres -> mm, the planted rotation and the head pose out),
        # and turned about as the fit's own head-pose removal turned them
        for registered, fit in zip(group["vertices"][()], fitted["sequences"][key]["vertices"][()], strict=True):
            transform = kabsch(fit.astype(np.float64), registered.astype(np.float64))
            moved = fit @ transform[:3, :3].T + transform[:3, 3]
            assert np.abs(moved - registered).max() < 0.01
            angle = np.degrees(np.arccos(np.clip((np.trace(transform[:3, :3]) - 1) / 2, -1, 1)))
            assert angle < 5.0, angle
    metrics = json.loads((results / "report" / "metrics.json").read_text())
    assert metrics["n"] == len(written) and "mean_linear" in metrics["baselines"]
    registration = json.loads((results / "report" / "registration_quality.json").read_text())
    assert registration["fitted"] is False and registration["frames"] == {}
    assert registration["n_sequences"] == len(written)
    quarantine = json.loads((results / "quarantine.json").read_text())
    assert [(Path(q["file"]).name, "vertices, the model has" in q["problem"]) for q in quarantine["ingest"]] == [
        (bad.name, True)
    ]
    log = (results / "logs" / "registered" / bad_subject / f"{bad_label}.log").read_text()
    assert bad.name in log and "vertices, the model has" in log

    with_flame_baseline = tmp_path / "flame.yaml"
    with_flame_baseline.write_text(yaml.safe_dump({"baselines": {"kinds": ["flame_transformer"]}}))
    refused = snakemake(run, "-n", "--configfile", str(TINY_CONFIG), str(config), str(with_flame_baseline))
    assert refused.returncode != 0
    assert "flame_transformer needs FLAME parameters" in refused.stderr + refused.stdout
