"""Scan readers, dataset layouts, cleaning, ingestion and bad input."""

from __future__ import annotations

import json
import os

import h5py
import meshio
import numpy as np
import pytest
import pyvista as pv

from fer4d.cli import main as cli
from fer4d.errors import InputFileError
from fer4d.formats.groundtruth import GroundTruth, write_ground_truth
from fer4d.formats.ingested import read_sequence
from fer4d.io.clean import clean_scan, first_occurrences, guess_scale_to_mm
from fer4d.io.ingest import ingest_sequence
from fer4d.io.layouts import discover_sequences, list_frames, natural_key, unknown_label_folders
from fer4d.io.options import IngestOptions
from fer4d.io.readers import read_scan
from fer4d.io.scan import Scan
from fer4d.labels import LabelOptions

# A small open surface: a 6×6 grid of quads (36 vertices) bent into a shallow dome, ~150 mm wide.
_u, _v = np.meshgrid(np.linspace(-75, 75, 6), np.linspace(-90, 90, 6))
GRID = np.stack([_u.ravel(), _v.ravel(), 20 - 0.002 * (_u.ravel() ** 2 + _v.ravel() ** 2)], 1).astype(np.float32)
QUADS = np.array(
    [[r * 6 + c, r * 6 + c + 1, (r + 1) * 6 + c + 1, (r + 1) * 6 + c] for r in range(5) for c in range(5)], np.int32
)
TRIANGLES = np.concatenate([QUADS[:, [0, 1, 2]], QUADS[:, [0, 2, 3]]])


def write_bu4dfe_wrl(path, vertices, faces):
    """A VRML 2.0 file laid out like BU-4DFE's: texture, texCoord and texCoordIndex included."""
    points = ",\n".join(f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices)
    index = ",\n".join(", ".join(map(str, f)) + ", -1" for f in faces)
    uv = ",\n".join(f"{(x + 80) / 160:.4f} {(y + 95) / 190:.4f}" for x, y, _ in vertices)
    path.write_text(
        "#VRML V2.0 utf8\n\nTransform {\n  children [\n    Shape {\n      appearance Appearance {\n"
        '        texture ImageTexture { url "000.bmp" }\n      }\n      geometry IndexedFaceSet {\n'
        f"        coord Coordinate {{\n          point [\n{points}\n          ]\n        }}\n"
        f"        coordIndex [\n{index}\n        ]\n"
        f"        texCoord TextureCoordinate {{\n          point [\n{uv}\n          ]\n        }}\n"
        f"        texCoordIndex [\n{index}\n        ]\n      }}\n    }}\n  ]\n}}\n"
    )


def same_surface(scan, vertices, triangles, quads=None):
    """Same vertex set and same triangles (up to vertex order); with ``quads``, any split of
    each quad into two triangles is accepted."""
    assert scan.vertices.dtype == np.float32 and scan.faces.dtype == np.int32
    order_read = np.lexsort(scan.vertices.T)
    order_true = np.lexsort(vertices.T)
    np.testing.assert_allclose(scan.vertices[order_read], vertices[order_true], atol=1e-4)
    rank_read = np.empty(len(order_read), int)
    rank_read[order_read] = np.arange(len(order_read))
    rank_true = np.empty(len(order_true), int)
    rank_true[order_true] = np.arange(len(order_true))
    as_set = lambda f, rank: {tuple(sorted(t)) for t in rank[f].tolist()}
    if quads is None:
        assert as_set(scan.faces, rank_read) == as_set(triangles, rank_true)
        return
    quad_sets = [set(q) for q in rank_true[quads].tolist()]
    read = as_set(scan.faces, rank_read)
    assert len(read) == 2 * len(quads)
    assert all(any(set(t) <= q for q in quad_sets) for t in read)


def test_reads_bu4dfe_style_vrml_with_quads(tmp_path):
    write_bu4dfe_wrl(tmp_path / "000.wrl", GRID, QUADS)
    same_surface(read_scan(tmp_path / "000.wrl"), GRID, TRIANGLES, QUADS)


@pytest.mark.parametrize(
    "ext,kwargs",
    [
        ("obj", {}),
        ("ply", {"binary": False}),
        ("ply", {"binary": True}),
        ("stl", {}),
        ("off", {}),
        ("vtk", {}),
        ("vtp", {}),
    ],
)
def test_reads_every_format(tmp_path, ext, kwargs):
    path = tmp_path / f"scan.{ext}"
    cells = [("triangle", TRIANGLES)] if ext in ("stl", "vtp") else [("quad", QUADS)]
    if ext == "off":  # meshio writes triangles only: write quads by hand
        rows = [f"{x} {y} {z}" for x, y, z in GRID] + [f"4 {a} {b} {c} {d}" for a, b, c, d in QUADS]
        path.write_text(f"OFF\n{len(GRID)} {len(QUADS)} 0\n" + "\n".join(rows) + "\n")
    elif ext == "vtp":  # meshio has no VTP writer
        pv.PolyData.from_regular_faces(GRID, TRIANGLES).save(path)
    else:
        meshio.write(path, meshio.Mesh(GRID.astype(np.float64), cells), **kwargs)
    scan = read_scan(path)
    if ext == "stl":  # STL stores triangles with their own corners: merge before comparing
        scan, _ = clean_scan(scan, 1.0, IngestOptions(crop="none", max_points=0))
    same_surface(scan, GRID, TRIANGLES, None if cells[0][0] == "triangle" else QUADS)


def bad_files(tmp_path):
    (tmp_path / "empty.ply").write_bytes(b"")
    (tmp_path / "notmesh.obj").write_text("this is a shopping list\nmilk\n")
    meshio.write(tmp_path / "full.ply", meshio.Mesh(GRID.astype(np.float64), [("triangle", TRIANGLES)]), binary=True)
    data = (tmp_path / "full.ply").read_bytes()
    (tmp_path / "truncated.ply").write_bytes(data[: len(data) // 2])
    nan = np.full_like(GRID, np.nan)
    write_bu4dfe_wrl(tmp_path / "nan.wrl", nan, QUADS)
    write_bu4dfe_wrl(tmp_path / "full.wrl", GRID, QUADS)
    (tmp_path / "truncated.wrl").write_text((tmp_path / "full.wrl").read_text()[:900])
    return {
        "empty.ply": "empty",
        "notmesh.obj": "",
        "truncated.ply": "",
        "truncated.wrl": "truncated",
    }


def test_bad_files_raise_an_error_naming_the_file(tmp_path):
    for name, words in bad_files(tmp_path).items():
        with pytest.raises(InputFileError) as info:
            read_scan(tmp_path / name)
        assert str(tmp_path / name) in str(info.value) and words in str(info.value)


def test_unreadable_file(tmp_path, monkeypatch):
    write_bu4dfe_wrl(tmp_path / "000.wrl", GRID, QUADS)
    (tmp_path / "000.wrl").chmod(0)
    if os.geteuid() == 0:  # root reads files whatever their permissions: refuse the open instead
        import fer4d.io.readers as readers

        def refuse(path, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(readers, "open", refuse, raising=False)
    with pytest.raises(InputFileError, match="cannot read"):
        read_scan(tmp_path / "000.wrl")


def test_directory_is_unreadable_as_a_scan(tmp_path):
    (tmp_path / "dir.ply").mkdir()
    with pytest.raises(InputFileError, match="dir.ply"):
        read_scan(tmp_path / "dir.ply")


def test_cleaning_removes_what_it_should():
    vertices = np.concatenate([GRID, [[np.nan, 0, 0]], GRID[:1], [[500, 500, 500]]]).astype(np.float32)
    nan_i, dup_i = len(GRID), len(GRID) + 1  # and a loose far point after them
    faces = np.concatenate([TRIANGLES, [[0, 1, 1]], [[nan_i, 0, 1]], [[dup_i, 1, 7]], TRIANGLES[:1]])
    cleaned, stats = clean_scan(Scan(vertices / 1000, faces), 1000.0, IngestOptions(crop="none", max_points=0))
    assert stats["removed_nonfinite"] == 1 and stats["removed_duplicate"] == 1
    assert stats["removed_unreferenced"] == 1  # the loose far point
    assert stats["removed_degenerate_faces"] == 3  # (0,1,1), the copy made by merging, the repeat
    assert stats["faces_out"] == len(TRIANGLES)
    assert len(cleaned.vertices) == len(GRID)
    np.testing.assert_allclose(np.sort(cleaned.vertices, axis=0), np.sort(GRID, axis=0), atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_first_occurrences_groups_rows_like_numpy_unique_in_order_of_appearance(dtype):
    rng = np.random.default_rng(7)
    for size in (1, 2, 17, 300):
        rows = rng.integers(0, 3, size=(size, 3)).astype(dtype)  # many repeats
        first, group = first_occurrences(rows)
        _, numpy_first, numpy_inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        rank = np.empty(len(numpy_first), np.int64)
        rank[np.argsort(numpy_first)] = np.arange(len(numpy_first))
        np.testing.assert_array_equal(first, np.sort(numpy_first))
        np.testing.assert_array_equal(group, rank[numpy_inverse.reshape(-1)])
        np.testing.assert_array_equal(rows[first][group], rows)  # every row is its group's first
    first, group = first_occurrences(np.zeros((0, 3), dtype))
    assert len(first) == len(group) == 0


def test_crop_keeps_the_face_and_budget_decimates():
    fragment = GRID[:4] + 400
    vertices = np.concatenate([GRID, fragment])
    faces = np.concatenate([TRIANGLES, [[36, 37, 38], [36, 38, 39]]])
    cropped, stats = clean_scan(Scan(vertices, faces), 1.0, IngestOptions(crop="component", max_points=0))
    assert stats["removed_by_crop"] == 4 and cropped.vertices.max() < 100
    budget, stats = clean_scan(Scan(GRID, TRIANGLES), 1.0, IngestOptions(crop="none", max_points=20))
    assert len(budget.vertices) <= 22 and len(budget.faces) > 10 and stats["removed_by_budget"] >= 14


def test_units_guess():
    assert guess_scale_to_mm(0.18) == 1000.0
    assert guess_scale_to_mm(180.0) == 1.0
    assert guess_scale_to_mm(18.0) == 10.0


def test_labels_and_natural_order(tmp_path):
    six = LabelOptions()
    assert six.folder_label("Happy") == six.folder_label("happiness") == six.folder_label("HA") == "happiness"
    assert six.folder_label("Smirk") is None and six.folder_label("neutral") is None  # not in the set
    assert LabelOptions(aliases={"smirk": "happiness"}).folder_label("Smirk") == "happiness"
    assert sorted(["10.wrl", "2.wrl", "1.wrl"], key=natural_key) == ["1.wrl", "2.wrl", "10.wrl"]
    for subject, expression in [("F001", "Angry"), ("F001", "Smirk"), ("M002", "Happy")]:
        folder = tmp_path / subject / expression
        folder.mkdir(parents=True)
        for i in (10, 2, 1):
            write_bu4dfe_wrl(folder / f"{i}.wrl", GRID, QUADS)
        (folder / "ground_truth.h5").write_bytes(b"")
    entries = discover_sequences(tmp_path)
    assert [(e.subject, e.label) for e in entries] == [("F001", "anger"), ("M002", "happiness")]
    assert [p.name for p in entries[0].frames] == ["1.wrl", "2.wrl", "10.wrl"]
    assert unknown_label_folders(tmp_path) == [tmp_path / "F001" / "Smirk"]
    with pytest.raises(ValueError, match="Smirk"):
        discover_sequences(tmp_path, unknown_labels="error")
    generic = discover_sequences(tmp_path, layout="generic", labels=LabelOptions(aliases={"Smirk": "happiness"}))
    assert ("F001", "happiness") in [(e.subject, e.label) for e in generic]
    two = LabelOptions(names=("smirk", "anger"))  # another label set: only its classes are found
    assert [(e.subject, e.label) for e in discover_sequences(tmp_path, labels=two)] == [
        ("F001", "anger"),
        ("F001", "smirk"),
    ]


def write_sequence(folder, n, scale=1.0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        write_bu4dfe_wrl(folder / f"{i:03d}.wrl", (GRID + rng.normal(0, 0.1, GRID.shape)) * scale, QUADS)
    return sorted(folder.glob("*.wrl"))


def test_frame_listing_keeps_what_a_reader_must_name(tmp_path):
    for name in ("10.WRL", "2.wrl", "1.wrl", "notes.txt", "3.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "4.wrl").mkdir()  # a folder is no frame
    (tmp_path / "5.wrl").symlink_to(tmp_path / "missing.wrl")  # a dangling link is: its reader names it
    assert [p.name for p in list_frames(tmp_path, "wrl")] == ["1.wrl", "2.wrl", "5.wrl", "10.WRL"]
    assert [p.name for p in list_frames(tmp_path, (".png", "txt"))] == ["3.png", "notes.txt"]


def test_ingest_keeps_good_frames_and_quarantines_bad_ones(tmp_path):
    frames = write_sequence(tmp_path / "F001" / "Happy", 4, scale=0.001)  # metres
    bad_files(tmp_path / "F001" / "Happy")
    frames = [
        *frames[:2],
        tmp_path / "F001" / "Happy" / "truncated.wrl",
        tmp_path / "F001" / "Happy" / "nan.wrl",
        *frames[2:],
    ]
    out, quarantine = tmp_path / "seq.h5", tmp_path / "seq.quarantine.json"
    summary = ingest_sequence(frames, out, quarantine, "F001", "happiness", IngestOptions())
    assert summary["status"] == "ok" and summary["frames"] == 4 and summary["units"] == "m"
    problems = json.loads(quarantine.read_text())
    assert {p["file"].rsplit("/", 1)[1] for p in problems} == {"truncated.wrl", "nan.wrl"}
    assert all(p["problem"] for p in problems)
    with h5py.File(out) as f:
        assert f.attrs["status"] == "ok" and f.attrs["scale_to_mm"] == 1000.0
        assert f["frames/frame_index"][()].tolist() == [0, 1, 4, 5]
        offsets = f["frames/vertex_offsets"][()]
        first = f["frames/vertices"][offsets[0] : offsets[1]]
        assert 140 < np.ptp(first, axis=0).max() < 200  # millimetres
        assert f["stats/vertices_in"].shape == (4,)


def test_strict_mode_fails_on_the_first_bad_file(tmp_path):
    frames = write_sequence(tmp_path / "S" / "Sad", 2)
    bad_files(tmp_path / "S" / "Sad")
    with pytest.raises(InputFileError, match="empty.ply"):
        ingest_sequence(
            [*frames, tmp_path / "S" / "Sad" / "empty.ply"],
            tmp_path / "o.h5",
            tmp_path / "q.json",
            "S",
            "sadness",
            IngestOptions(),
            strict=True,
        )
    assert not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize("n_frames", [0, 1])
def test_sequences_without_enough_frames_are_empty_not_fatal(tmp_path, n_frames):
    folder = tmp_path / "S" / "Fear"
    frames = write_sequence(folder, n_frames)
    summary = ingest_sequence(
        frames, tmp_path / "o.h5", tmp_path / "q.json", "S", "fear", IngestOptions(), folder=folder
    )
    assert summary["status"] == "empty"
    with h5py.File(tmp_path / "o.h5") as f:
        assert f.attrs["status"] == "empty" and f.attrs["n_frames"] == 0
    problem = json.loads((tmp_path / "q.json").read_text())[0]
    assert problem["file"] == str(folder)
    assert ("no scan files" if n_frames == 0 else "only 1 usable frame") in problem["problem"]


def test_ground_truth_rows_follow_the_kept_frames(tmp_path):
    folder = tmp_path / "S" / "Angry"
    frames = write_sequence(folder, 3)
    (folder / "001.wrl").write_text("#VRML V2.0 utf8\nbroken [")
    truth = np.arange(3 * 4 * 3, dtype=np.float32).reshape(3, 4, 3)
    zeros = np.zeros((3, 2), np.float32)
    write_ground_truth(
        folder / "ground_truth.h5",
        GroundTruth(
            "S",
            "anger",
            truth,
            truth,
            np.ones(5),
            zeros,
            np.zeros((3, 5, 3)),
            np.zeros((3, 3)),
            np.eye(3),
            np.zeros(3),
            "mm",
        ),
    )
    ingest_sequence(frames, tmp_path / "o.h5", tmp_path / "q.json", "S", "anger", IngestOptions())
    sequence = read_sequence(tmp_path / "o.h5")
    assert (sequence.subject, sequence.label, sequence.status) == ("S", "anger", "ok")
    assert sequence.frame_index.tolist() == [0, 2] and len(sequence.frames) == 2
    assert [s.rsplit("/", 1)[1] for s in sequence.sources] == ["000.wrl", "002.wrl"]
    vertices, faces = sequence.frames[1]
    assert vertices.dtype == np.float32 and faces.dtype == np.int32 and faces.max() == len(vertices) - 1
    np.testing.assert_array_equal(sequence.ground_truth["vertices"], truth[[0, 2]])
    assert sequence.ground_truth["params/shape"].shape == (5,)


def test_read_sequence_refuses_other_files(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    (tmp_path / "text.h5").write_text("hello")
    for name in ("other.h5", "text.h5"):
        with pytest.raises(InputFileError, match=name):
            read_sequence(tmp_path / name)


def test_interrupted_ingest_leaves_no_file(tmp_path, monkeypatch):
    frames = write_sequence(tmp_path / "S" / "Sad", 2)
    import fer4d.io.ingest as ingest_module

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "write_quarantine", explode)
    with pytest.raises(RuntimeError):
        ingest_sequence(frames, tmp_path / "o.h5", tmp_path / "q.json", "S", "sadness", IngestOptions())
    monkeypatch.setattr(h5py.File, "create_group", lambda *a, **k: explode())
    with pytest.raises(RuntimeError):
        ingest_sequence(frames, tmp_path / "o2.h5", tmp_path / "q2.json", "S", "sadness", IngestOptions())
    assert not (tmp_path / "o2.h5").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_scan_info_cli(tmp_path, capsys):
    write_bu4dfe_wrl(tmp_path / "000.wrl", GRID / 1000, QUADS)
    assert cli(["scan-info", str(tmp_path / "000.wrl"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["vertices"] == 36 and info["faces"] == 50 and info["units_guess"] == "m"
    (tmp_path / "bad.ply").write_bytes(b"")
    assert cli(["scan-info", str(tmp_path / "bad.ply")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.ply" in err[0] and "empty" in err[0] and "Traceback" not in err[0]


def test_ingest_cli(tmp_path, capsys):
    write_sequence(tmp_path / "F001" / "Happy", 3)
    assert cli(["ingest", str(tmp_path / "F001" / "Happy"), "--out", str(tmp_path / "o.h5")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["subject"], summary["label"], summary["frames"]) == ("F001", "happiness", 3)


def test_bench_ingest_prints_json_last(capsys):
    assert cli(["bench", "ingest", "--json", "--vertices", "400", "--frames", "2"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["vertices_per_frame"] == 400 and result["frames"] == 2 and result["status"] == "ok"
    assert 0 < result["ours_s_per_frame"] < 5 and 0 < result["vtk_s_per_frame"] < 5
    assert result["speedup"] == pytest.approx(result["vtk_s_per_frame"] / result["ours_s_per_frame"], rel=0.05)


def test_ingest_without_a_frame_list_lists_its_one_folder_like_discovery(tmp_path):
    """The workflow discovers sequences once; a job whose files did not exist then (synthetic
    data) lists only its own folder, in natural order, any letter case."""
    folder = tmp_path / "S" / "Angry"
    frames = write_sequence(folder, 3)
    frames[2].rename(folder / "10.WRL")
    (folder / "notes.txt").write_text("x")
    ingest_sequence(None, tmp_path / "o.h5", tmp_path / "q.json", "S", "anger", IngestOptions(), folder=folder)
    sources = [s.rsplit("/", 1)[1] for s in read_sequence(tmp_path / "o.h5").sources]
    assert sources == ["000.wrl", "001.wrl", "10.WRL"]
