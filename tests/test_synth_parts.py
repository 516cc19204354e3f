"""Unit tests of fer4d.synth building blocks: options, layout, writers, surface, scanner, dynamics."""

from __future__ import annotations

import re

import numpy as np
import pytest
import pyvista as pv

from fer4d import LABELS
from fer4d.synth.dynamics import Timing, apex_frame, blink_track, intensity_envelope
from fer4d.synth.layout import plan_sequences, subject_name, synthetic_sequences
from fer4d.synth.options import SynthOptions
from fer4d.synth.scanner import ScanSession, longest_edges, random_scanner_pose
from fer4d.synth.surface import resample_surface
from fer4d.synth.writers import write_scan


def sphere(radius: float = 80.0) -> tuple[np.ndarray, np.ndarray]:
    mesh = pv.Sphere(radius=radius, theta_resolution=24, phi_resolution=24).triangulate()
    return np.asarray(mesh.points, dtype=np.float64), mesh.faces.reshape(-1, 4)[:, 1:]


def parse_vrml(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Minimal test-local VRML IndexedFaceSet reader: coord points and coordIndex triangles."""
    points = re.search(r"coord Coordinate \{\s*point \[(.*?)\]", text, re.S).group(1)
    index = re.search(r"coordIndex \[(.*?)\]", text, re.S).group(1)
    xyz = np.array(points.replace(",", " ").split(), dtype=float).reshape(-1, 3)
    ids = np.array(index.replace(",", " ").split(), dtype=int).reshape(-1, 4)
    assert (ids[:, 3] == -1).all()
    return xyz, ids[:, :3]


def test_options_reject_unknown_and_invalid():
    assert SynthOptions.from_dict({"subjects": 3}).subjects == 3
    with pytest.raises(ValueError, match="unknown"):
        SynthOptions.from_dict({"subject": 3})
    with pytest.raises(ValueError, match="units"):
        SynthOptions(units="cm")
    with pytest.raises(ValueError, match="frames_min"):
        SynthOptions(frames_min=30, frames_max=20)


def test_layout_names_and_determinism():
    assert [subject_name(i) for i in range(4)] == ["F001", "M001", "F002", "M002"]
    options = SynthOptions(subjects=3, frames_min=10, frames_max=50, seed=7)
    seqs = synthetic_sequences(options)
    assert len(seqs) == 18
    assert {label for _, label, _ in seqs} == set(LABELS)
    assert ("M001", "happiness", "Happy") in seqs
    lengths = [p.n_frames for p in plan_sequences(options)]
    assert lengths == [p.n_frames for p in plan_sequences(options)]
    assert all(10 <= n <= 50 for n in lengths) and len(set(lengths)) > 3
    assert lengths != [p.n_frames for p in plan_sequences(options.replace(seed=8))]


@pytest.mark.parametrize("suffix", ["wrl", "obj", "ply"])
def test_writers_round_trip(tmp_path, suffix):
    vertices, faces = sphere()
    path = tmp_path / f"000.{suffix}"
    write_scan(path, vertices, faces, "mm")
    if suffix == "wrl":
        text = path.read_text()
        assert text.startswith("#VRML V2.0 utf8")
        assert "texCoord TextureCoordinate" in text and "texCoordIndex" in text
        xyz, tri = parse_vrml(text)
    else:
        mesh = pv.read(path)
        xyz, tri = np.asarray(mesh.points), mesh.faces.reshape(-1, 4)[:, 1:]
    np.testing.assert_allclose(xyz, vertices, atol=1e-3)
    np.testing.assert_array_equal(tri, faces)


def test_vrml_reads_back_with_vtk_importer(tmp_path):
    """An independent VRML 2.0 reader (VTK's importer) sees the same mesh and texture coords."""
    vtk = pytest.importorskip("vtkmodules.all")
    from vtkmodules.util.numpy_support import vtk_to_numpy

    vertices, faces = sphere()
    write_scan(tmp_path / "000.wrl", vertices, faces, "mm")
    importer = vtk.vtkVRMLImporter()
    importer.SetFileName(str(tmp_path / "000.wrl"))
    window = vtk.vtkRenderWindow()
    window.SetOffScreenRendering(1)
    importer.SetRenderWindow(window)
    importer.Update()
    actors = importer.GetRenderer().GetActors()
    actors.InitTraversal()
    mesh = actors.GetNextActor().GetMapper().GetInput()
    assert mesh.GetNumberOfCells() == len(faces)
    np.testing.assert_allclose(vtk_to_numpy(mesh.GetPoints().GetData()), vertices, atol=1e-3)
    uv = vtk_to_numpy(mesh.GetPointData().GetTCoords())
    assert uv.shape == (len(vertices), 2) and uv.min() >= 0 and uv.max() <= 1


def test_resample_surface_changes_triangulation_but_not_surface():
    vertices, faces = sphere()
    sampling = resample_surface(vertices, faces, 1500, np.random.default_rng(0))
    points = sampling.sample(vertices)
    assert 1300 < len(points) < 1700
    assert sampling.faces.max() < len(points)
    radius = np.linalg.norm(points, axis=1)
    assert radius.max() <= 80.0 + 1e-6 and radius.min() > 78.0  # on the faceted sphere
    other = resample_surface(vertices, faces, 1500, np.random.default_rng(1))
    assert other.weights.shape != sampling.weights.shape or (other.weights != sampling.weights).nnz


def make_session(units: str, seed: int = 0) -> tuple[ScanSession, np.ndarray]:
    vertices, faces = sphere()
    rng = np.random.default_rng(seed)
    sampling = resample_surface(vertices, faces, 2000, rng)
    rotation, translation = random_scanner_pose(rng)
    missing = np.zeros(sampling.weights.shape[0], bool)
    rest = longest_edges(sampling.sample(vertices), sampling.faces)
    return ScanSession(sampling, rest, missing, rotation, translation, units), vertices


def test_capture_noise_units_holes_and_outliers():
    session, vertices = make_session("mm")
    rng = np.random.default_rng(3)
    scan, faces, surface = session.capture(vertices, 0.5, 0.05, 0.01, 2, rng)
    back = (scan.astype(np.float64) - session.translation) @ session.rotation
    radius = np.linalg.norm(back, axis=1)
    # Surface vertices: |N(0, 0.5)| around the faceted sphere (chord sag < 0.2 mm here).
    assert abs(np.mean(np.abs(radius[surface] - 80.0)) - 0.4) < 0.12
    assert np.abs(radius[~surface] - 80.0).max() > 2.0  # spikes and fragments are off-surface
    assert len(scan) < session.sampling.weights.shape[0] + 2 * 121  # holes removed vertices
    assert faces.max() < len(scan) and faces.dtype == np.int32

    session_m, _ = make_session("m")
    scan_m, faces_m, _ = session_m.capture(vertices, 0.5, 0.05, 0.01, 2, np.random.default_rng(3))
    np.testing.assert_allclose(scan_m * 1000.0, scan, rtol=1e-5, atol=1e-2)
    np.testing.assert_array_equal(faces_m, faces)


def test_envelope_phases_and_blinks():
    timing = Timing(start=0.1, onset=0.2, apex=0.3, offset=0.2, residual=0.1)
    envelope = intensity_envelope(40, timing)
    assert envelope[0] == 0.0 and envelope[apex_frame(40, timing)] == pytest.approx(1.0)
    assert envelope[-1] == pytest.approx(0.1)
    assert np.all(np.diff(envelope[: apex_frame(40, timing)]) >= 0)
    blinks = blink_track(200, 0.05, np.random.default_rng(0))
    assert blinks.max() > 0.9 and np.mean(blinks > 0.5) < 0.2
