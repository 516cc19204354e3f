"""End-to-end tests of fer4d.synth on a tiny model and dataset: layout, files, ground truth."""

from __future__ import annotations

import json
import re

import h5py
import matplotlib.pyplot as plt
import numpy as np
import pytest
import pyvista as pv
import torch

from fer4d import LABELS
from fer4d.cli import main as cli_main
from fer4d.flame import load_flame
from fer4d.formats.groundtruth import GroundTruth, read_ground_truth, write_ground_truth
from fer4d.synth import (
    SynthOptions,
    build_face_rig,
    simulate_sequence,
    synthesize_dataset,
    synthetic_sequences,
)
from fer4d.synth.baseline import apex_index, apex_nearest_neighbour_accuracy
from fer4d.synth.facemodel import make_synthetic_flame
from fer4d.synth.render import render_frames

TINY = SynthOptions(subjects=2, frames_min=8, frames_max=9, scan_points=1500, model_vertices=800)


def parse_vrml(path) -> tuple[np.ndarray, np.ndarray]:
    """Minimal test-local VRML IndexedFaceSet reader (coord points, coordIndex triangles)."""
    text = path.read_text()
    assert text.startswith("#VRML V2.0 utf8")
    points = re.search(r"coord Coordinate \{\s*point \[(.*?)\]", text, re.S).group(1)
    index = re.search(r"coordIndex \[(.*?)\]", text, re.S).group(1)
    xyz = np.array(points.replace(",", " ").split(), dtype=float).reshape(-1, 3)
    ids = np.array(index.replace(",", " ").split(), dtype=int).reshape(-1, 4)
    return xyz, ids[:, :3]


def surface_distance(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unsigned distance (N,) of ``points`` to the triangle mesh ``(vertices, faces)``."""
    cells = np.concatenate([np.full((len(faces), 1), 3), faces], axis=1).ravel()
    mesh = pv.PolyData(vertices.astype(np.float64), cells)
    _, closest = mesh.find_closest_cell(points.astype(np.float64), return_closest_point=True)
    return np.linalg.norm(points - closest, axis=1)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "flame.pkl"
    make_synthetic_flame(path, n_vertices=TINY.model_vertices, seed=0)
    return path


@pytest.fixture(scope="module")
def rig(model_path):
    return build_face_rig(load_flame(model_path))


@pytest.fixture(scope="module")
def dataset(model_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    manifest = synthesize_dataset(model_path, root, TINY)
    return root, manifest


def test_layout_manifest_and_wrl_files(dataset, model_path):
    root, manifest = dataset
    assert json.loads((root / "manifest.json").read_text()) == manifest
    assert [(m["subject"], m["label"], m["folder"]) for m in manifest] == synthetic_sequences(TINY)
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["F001", "M001"]
    assert sorted(p.name for p in (root / "F001").iterdir()) == sorted(
        ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise"]
    )
    n_model = load_flame(model_path).n_vertices
    for entry in manifest:
        folder = root / entry["subject"] / entry["folder"]
        names = sorted(p.name for p in folder.glob("*.wrl"))
        assert names == [f"{i:03d}.wrl" for i in range(entry["frames"])]
        truth = read_ground_truth(folder / "ground_truth.h5")
        assert (truth.subject, truth.label) == (entry["subject"], entry["label"])
        assert truth.vertices.shape == truth.vertices_canonical.shape == (entry["frames"], n_model, 3)
        assert truth.pose.shape == (entry["frames"], 5, 3) and truth.vertices.dtype == np.float32
        np.testing.assert_allclose(truth.scan_rotation @ truth.scan_rotation.T, np.eye(3), atol=1e-9)
    xyz, tri = parse_vrml(root / "M001" / "Happy" / "000.wrl")
    assert tri.min() >= 0 and tri.max() < len(xyz)
    assert 0.6 * TINY.scan_points < len(xyz) < 1.3 * TINY.scan_points and len(xyz) != n_model


def test_scans_lie_on_ground_truth_within_noise(dataset, model_path):
    root, _ = dataset
    faces = load_flame(model_path).faces
    folder = root / "F001" / "Surprise"
    truth = read_ground_truth(folder / "ground_truth.h5")
    # The raw scans sit far from the model's own frame: the scanner transform is not identity.
    assert np.linalg.norm(truth.vertices.mean(axis=(0, 1)) - truth.vertices_canonical.mean(axis=(0, 1))) > 100
    for frame in (0, len(truth.vertices) - 1):
        xyz, _ = parse_vrml(folder / f"{frame:03d}.wrl")
        distance = surface_distance(xyz, truth.vertices[frame], faces)
        # median |N(0, sigma)| = 0.674 sigma; spikes and fragments barely move the median
        assert np.median(distance) == pytest.approx(0.674 * TINY.noise_mm, abs=0.05)
        assert np.mean(distance > 2.0) > 0.005  # but they are there


def test_simulate_sequence_is_deterministic_and_units_scale(rig):
    a = simulate_sequence(rig, 1, "fear", 8, TINY, np.random.default_rng(5))
    b = simulate_sequence(rig, 1, "fear", 8, TINY, np.random.default_rng(5))
    for (va, fa), (vb, fb) in zip(a.scans, b.scans):
        np.testing.assert_array_equal(va, vb)
        np.testing.assert_array_equal(fa, fb)
    np.testing.assert_array_equal(a.truth.vertices, b.truth.vertices)
    metres = simulate_sequence(rig, 1, "fear", 8, TINY.replace(units="m"), np.random.default_rng(5))
    np.testing.assert_allclose(metres.scans[3][0] * 1000.0, a.scans[3][0], atol=1e-3)
    np.testing.assert_array_equal(metres.truth.vertices, a.truth.vertices)  # truth stays in mm
    other = simulate_sequence(rig, 1, "fear", 8, TINY, np.random.default_rng(6))
    assert not np.allclose(other.truth.vertices, a.truth.vertices)


def test_identity_is_per_subject_and_scan_excludes_outliers_on_surface(rig):
    first = simulate_sequence(rig, 0, "anger", 8, TINY, np.random.default_rng(1))
    again = simulate_sequence(rig, 0, "sadness", 8, TINY, np.random.default_rng(2))
    other = simulate_sequence(rig, 1, "anger", 8, TINY, np.random.default_rng(1))
    np.testing.assert_array_equal(first.truth.shape, again.truth.shape)
    assert not np.allclose(first.truth.shape, other.truth.shape)
    scan, _ = first.scans[4]
    surface = first.surface_masks[4]
    in_model = (scan.astype(np.float64) - first.truth.scan_translation) @ first.truth.scan_rotation
    posed = (first.truth.vertices[4] - first.truth.scan_translation) @ first.truth.scan_rotation
    distance = surface_distance(in_model, posed, rig.layer.faces.numpy())
    assert np.mean(distance[surface]) == pytest.approx(0.8 * TINY.noise_mm, abs=0.05)
    assert np.median(distance[~surface]) > 2.0


@pytest.mark.parametrize("label", LABELS)
def test_sequences_run_neutral_apex_neutral(rig, label):
    sequence = simulate_sequence(rig, 0, label, 30, TINY, np.random.default_rng(LABELS.index(label)))
    canonical = sequence.truth.vertices_canonical
    with torch.no_grad():
        neutral = rig.layer(torch.as_tensor(sequence.truth.shape[None])[:, : rig.n_shape]).vertices[0]
    # Only the face moves with expression: measure the 5% of vertices that move most at the apex.
    apex = apex_index(canonical)
    moved = np.linalg.norm(canonical - neutral.numpy(), axis=2)
    top = np.argsort(moved[apex])[-len(moved[apex]) // 20 :]
    course = moved[:, top].mean(axis=1)
    assert 0 < apex < len(canonical) - 1
    assert course[0] < 0.3 * course[apex]
    assert course[-1] < 0.5 * course[apex]
    assert course[apex] > 1.0  # mm: a visible expression


def test_apex_baseline_on_constructed_ground_truth(tmp_path):
    """Labels carried by the apex shape → 1-NN is perfect; carried by nothing → it is not."""
    rng = np.random.default_rng(0)
    templates = rng.normal(size=(6, 10, 3))
    manifest = []
    for _s, subject in enumerate(["F001", "M001", "F002"]):
        for k, label in enumerate(LABELS):
            frames = np.zeros((5, 10, 3), np.float32)
            frames[1:4] = 0.5 * templates[k]
            frames[2] = templates[k] + 0.05 * rng.normal(size=(10, 3))  # the apex
            folder = tmp_path / subject / label
            folder.mkdir(parents=True)
            truth = GroundTruth(
                subject=subject,
                label=label,
                vertices=frames,
                vertices_canonical=frames,
                shape=np.zeros(3, np.float32),
                expression=np.zeros((5, 2), np.float32),
                pose=np.zeros((5, 5, 3), np.float32),
                translation=np.zeros((5, 3), np.float32),
                scan_rotation=np.eye(3),
                scan_translation=np.zeros(3),
                units="mm",
            )
            write_ground_truth(folder / "ground_truth.h5", truth)
            manifest.append({"subject": subject, "label": label, "folder": label, "frames": 5})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert apex_nearest_neighbour_accuracy(tmp_path) == 1.0
    for number, entry in enumerate(manifest):  # each subject names the shapes differently
        entry["label"] = LABELS[(number + number // 6) % 6]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert apex_nearest_neighbour_accuracy(tmp_path) == 0.0


def test_cli_writes_model_and_ply_dataset(tmp_path):
    code = cli_main(
        [
            "synth",
            "--out",
            str(tmp_path),
            "--subjects",
            "1",
            "--frames-min",
            "8",
            "--frames-max",
            "8",
            "--scan-points",
            "800",
            "--model-vertices",
            "800",
            "--format",
            "ply",
            "--units",
            "m",
        ]
    )
    assert code == 0
    assert (tmp_path / "flame_synthetic.pkl").is_file()
    mesh = pv.read(tmp_path / "F001" / "Sad" / "007.ply")
    assert mesh.n_points > 400 and np.ptp(mesh.points, axis=0).max() < 1.0  # metres
    assert len(json.loads((tmp_path / "manifest.json").read_text())) == 6


def test_dataset_is_identical_with_two_worker_processes(dataset, model_path, tmp_path):
    root, manifest = dataset
    assert synthesize_dataset(model_path, tmp_path, TINY, workers=2) == manifest
    for name in ("F001/Angry/000.wrl", "M001/Surprise/005.wrl"):
        assert (tmp_path / name).read_bytes() == (root / name).read_bytes()
    for entry in manifest:
        folder = f"{entry['subject']}/{entry['folder']}/ground_truth.h5"
        with h5py.File(root / folder) as a, h5py.File(tmp_path / folder) as b:
            np.testing.assert_array_equal(a["vertices"][()], b["vertices"][()])


def test_render_frames_shows_scan_and_truth(rig, tmp_path):
    sequence = simulate_sequence(rig, 0, "happiness", 8, TINY, np.random.default_rng(0))
    scans = {frame: sequence.scans[frame] for frame in (0, 4)}
    path = render_frames(scans, sequence.truth, tmp_path / "seq.png", rig.layer.faces.numpy())
    drawn = (plt.imread(path)[..., :3] < 0.9).any(axis=2)  # not white background
    height, width = drawn.shape
    for row in (slice(0, height // 2), slice(height // 2, height)):  # scans, then truth
        for column in (slice(0, width // 2), slice(width // 2, width)):  # frames 0 and 4
            assert drawn[row, column].mean() > 0.05


def test_ingestion_reader_and_cli_render_read_the_written_files(dataset, model_path, tmp_path):
    """The project's scan reader (fer4d.io.readers.read_scan) reads what is written here."""
    from fer4d.io.readers import read_scan

    root, _ = dataset
    path = root / "F001" / "Disgust" / "003.wrl"
    scan = read_scan(path)
    xyz, tri = parse_vrml(path)
    np.testing.assert_allclose(scan.vertices, xyz, atol=1e-6)
    np.testing.assert_array_equal(scan.faces, tri)
    png = tmp_path / "disgust.png"
    assert (
        cli_main(
            [
                "synth-render",
                str(root),
                "--subject",
                "F001",
                "--label",
                "disgust",
                "--out",
                str(png),
                "--frames",
                "3",
                "--model",
                str(model_path),
            ]
        )
        == 0
    )
    assert plt.imread(png).shape[1] >= 3 * 100


def test_the_clean_twin_of_the_harder_setting_scans_the_same_sequences(rig):
    from fer4d.bench.accuracy import CLEAN, HARDER

    noisy_options = TINY.replace(**HARDER)
    noisy = simulate_sequence(rig, 1, "fear", 8, noisy_options, np.random.default_rng(5))
    clean = simulate_sequence(rig, 1, "fear", 8, noisy_options.replace(**CLEAN), np.random.default_rng(5))
    np.testing.assert_array_equal(clean.truth.vertices, noisy.truth.vertices)
    np.testing.assert_array_equal(clean.truth.expression, noisy.truth.expression)
    assert all(mask.all() for mask in clean.surface_masks)  # no spikes, no fragments
    assert not all(mask.all() for mask in noisy.surface_masks)
