"""The vectorised VRML reader gives VTK's vertices and faces, bit for bit, on every layout it takes."""

from __future__ import annotations

import numpy as np
import pytest

from fer4d.bench.ingest import dome_grid
from fer4d.errors import InputFileError
from fer4d.io.readers import read_scan
from fer4d.io.vrml import read_indexed_face_sets
from fer4d.synth.writers import write_scan

RNG = np.random.default_rng(0)
POINTS = (RNG.normal(size=(12, 3)) * 50).astype(np.float32)
HEADER = "#VRML V2.0 utf8\n"


def points_text(points, fmt="{:.4f}"):
    return ",\n".join(" ".join(fmt.format(x) for x in row) for row in points)


def face_set(index, points=POINTS, extra=""):
    return f"geometry IndexedFaceSet {{ {extra} coord Coordinate {{ point [ {points_text(points)} ] }} coordIndex [ {index} ] }}"


def assert_same_as_vtk(path, fast=True):
    """Same vertices and faces (same order) as VTK; ``fast``: our reader did not hand it to VTK."""
    assert (read_indexed_face_sets(path.read_bytes(), path) is not None) == fast
    ours, vtk = read_scan(path), read_scan(path, use_vtk=True)
    assert ours.vertices.shape == vtk.vertices.shape and ours.faces.shape == vtk.faces.shape
    np.testing.assert_array_equal(ours.vertices, vtk.vertices)
    np.testing.assert_array_equal(ours.faces, vtk.faces)
    return ours


def test_generator_output_matches_vtk(tmp_path):
    vertices, faces = dome_grid(2000, seed=1)
    write_scan(tmp_path / "000.wrl", vertices, faces, "mm")
    scan = assert_same_as_vtk(tmp_path / "000.wrl")
    assert len(scan.vertices) == len(vertices) and len(scan.faces) == len(faces)


def test_metre_scans_with_six_decimals_match_vtk(tmp_path):
    vertices, faces = dome_grid(500, seed=2)
    write_scan(tmp_path / "000.wrl", vertices / 1000, faces, "m")
    assert_same_as_vtk(tmp_path / "000.wrl")


def test_polygons_of_any_size_are_triangulated_as_vtk_does(tmp_path):
    # a quad, a pentagon, a triangle and a last polygon without its -1
    index = "0 1 2 3 -1 4 5 6 7 8 -1 9 10 11 -1 0 2 4 6"
    (tmp_path / "p.wrl").write_text(HEADER + f"Shape {{ {face_set(index)} }}\n")
    scan = assert_same_as_vtk(tmp_path / "p.wrl")
    assert len(scan.faces) == 2 + 3 + 1 + 2


def test_floats_in_any_notation_match_vtk(tmp_path):
    mixed = ",\n".join(f"{x:.5g} {y:.3e} {z}" for x, y, z in POINTS.tolist())
    (tmp_path / "f.wrl").write_text(
        HEADER + f"Shape {{ geometry IndexedFaceSet {{ coord Coordinate {{ point [ {mixed} ] }} "
        "coordIndex [ 0, 1, 2, -1, 3, 4, 5, -1 ] } }\n"
    )
    assert_same_as_vtk(tmp_path / "f.wrl")


def test_several_shapes_comments_def_and_use(tmp_path):
    text = (
        HEADER + "# a comment line { [ with brackets\n"
        "Transform { translation 0 0 0 scale 1 1 1 children [\n"
        "  DEF FACE Shape { # the first shape\n"
        '    appearance Appearance { texture ImageTexture { url "a#b.bmp" } }\n'
        f"    geometry IndexedFaceSet {{ creaseAngle 3.0 solid FALSE coord DEF C Coordinate {{ point [ {points_text(POINTS)} ] }}\n"
        "      coordIndex [ 0, 1, 2, -1, 2, 3, 0, -1 ] } }\n"
        "  Shape { geometry IndexedFaceSet { coord USE C coordIndex [ 4 5 6 -1 7 8 9 10 -1 ] } }\n"
        "  USE FACE\n"
        "] }\n"
    )
    (tmp_path / "s.wrl").write_text(text)
    scan = assert_same_as_vtk(tmp_path / "s.wrl")
    assert len(scan.vertices) == 3 * len(POINTS)


def test_texture_indices_other_than_the_faces_split_corners_as_vtk_does(tmp_path):
    (tmp_path / "t.wrl").write_text(
        HEADER + 'Shape { appearance Appearance { texture ImageTexture { url "x.bmp" } }\n'
        f"geometry IndexedFaceSet {{ coord Coordinate {{ point [ {points_text(POINTS)} ] }}\n"
        "texCoord TextureCoordinate { point [ 0 0, 1 0, 1 1, 0 1 ] }\n"
        "coordIndex [ 0 1 2 -1 2 3 4 5 -1 6 7 8 -1 ] texCoordIndex [ 0 1 2 -1 1 2 3 0 -1 0 1 3 -1 ] } }\n"
    )
    scan = assert_same_as_vtk(tmp_path / "t.wrl")
    assert len(scan.vertices) == 10  # one vertex per face corner


def test_texture_indices_equal_to_the_faces_keep_shared_vertices(tmp_path):
    uv = ", ".join("0.5 0.5" for _ in POINTS)
    (tmp_path / "t.wrl").write_text(
        HEADER + f"Shape {{ geometry IndexedFaceSet {{ coord Coordinate {{ point [ {points_text(POINTS)} ] }}\n"
        f"texCoord TextureCoordinate {{ point [ {uv} ] }}\n"
        "coordIndex [ 0, 1, 2, -1, 3, 4, 5, -1 ] texCoordIndex [ 0, 1, 2, -1, 3, 4, 5, -1 ] } }\n"
    )
    assert len(assert_same_as_vtk(tmp_path / "t.wrl").vertices) == len(POINTS)


@pytest.mark.parametrize(
    "scene",
    [
        "Transform { translation 1 0 0 children [ Shape { %s } ] }",  # VTK moves actors, not points
        "Shape { %s } DirectionalLight { direction 0 0 -1 }",  # a node this reader does not know
        "Shape { %s }\nShape { geometry Box { size 1 1 1 } }",  # other geometry
    ],
)
def test_other_scenes_go_to_vtk(tmp_path, scene):
    (tmp_path / "o.wrl").write_text(HEADER + scene % face_set("0 1 2 -1 3 4 5 -1") + "\n")
    assert_same_as_vtk(tmp_path / "o.wrl", fast=False)


def test_a_face_beyond_the_points_is_one_clear_error(tmp_path):
    (tmp_path / "bad.wrl").write_text(HEADER + f"Shape {{ {face_set('0 1 99 -1')} }}\n")
    with pytest.raises(InputFileError, match="bad.wrl.*vertex that does not exist"):
        read_scan(tmp_path / "bad.wrl")


def test_truncated_file_is_still_reported(tmp_path):
    (tmp_path / "cut.wrl").write_text(HEADER + f"Shape {{ {face_set('0 1 2 -1')} }}\n"[:-20])
    with pytest.raises(InputFileError, match="cut.wrl.*truncated"):
        read_scan(tmp_path / "cut.wrl")
