"""Read raw scans: VRML 2.0 (BU-4DFE), OBJ, PLY (ascii/binary), STL, OFF, VTK/VTP.

VRML 2.0 IndexedFaceSets are parsed by ``fer4d.io.vrml`` (numpy), other VRML by VTK's importer;
OBJ, PLY, STL and VTK/VTP go through VTK (directly or via pyvista); OFF is parsed here
(see ``_read_off``). Polygons are triangulated.
Every failure becomes ``InputFileError(path, problem)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.io.scan import Scan
from fer4d.io.vrml import face_sets_to_scan, read_indexed_face_sets, strip_comments

SCAN_EXTENSIONS = (".wrl", ".obj", ".ply", ".stl", ".off", ".vtk", ".vtp")
VRML_HEADER = re.compile(rb"\s*#VRML V2\.0")


def _polydata_to_scan(mesh, path: Path) -> Scan:
    """A VTK/pyvista surface → triangles; non-triangle polygons are triangulated."""
    import pyvista as pv

    surface = pv.wrap(mesh)
    if not isinstance(surface, pv.PolyData):
        surface = surface.extract_surface(algorithm="dataset_surface")
    if surface.n_points == 0:
        raise InputFileError(path, "the file holds no vertices (empty, truncated or not a mesh)")
    if surface.faces.size == 0:
        raise InputFileError(path, "the mesh has vertices but no faces")
    triangles = surface.triangulate()
    return Scan(np.asarray(triangles.points), triangles.faces.reshape(-1, 4)[:, 1:])


def _read_vrml(path: Path, use_vtk: bool = False) -> Scan:
    """VRML 2.0 IndexedFaceSet(s): the vectorised reader (``fer4d.io.vrml``), or VTK's importer
    where that reader declines the file or ``use_vtk``; several shapes are merged."""
    text = path.read_bytes()
    if not VRML_HEADER.match(text):
        raise InputFileError(path, "not a VRML 2.0 file (no '#VRML V2.0' header)")
    face_sets = None if use_vtk else read_indexed_face_sets(text, path)  # only parses closed nodes
    if face_sets is not None:
        return face_sets_to_scan(face_sets)
    code = strip_comments(text)
    if code.count(b"[") != code.count(b"]") or code.count(b"{") != code.count(b"}"):
        raise InputFileError(path, "truncated VRML file (unbalanced brackets)")
    return _read_vrml_vtk(path)


def _read_vrml_vtk(path: Path) -> Scan:
    """VRML 2.0 through VTK's importer (the fallback, and the reference the tests compare to)."""
    import pyvista as pv
    import vtk

    previous = vtk.vtkObject.GetGlobalWarningDisplay()
    vtk.vtkObject.GlobalWarningDisplayOff()
    try:
        importer = vtk.vtkVRMLImporter()
        importer.SetFileName(str(path))
        importer.Update()  # no render window: the importer's own renderer needs no graphics context
        actors = importer.GetRenderer().GetActors()
        actors.InitTraversal()
        parts = []
        for _ in range(actors.GetNumberOfItems()):
            data = actors.GetNextActor().GetMapper().GetInput()
            if data is not None and data.GetNumberOfPoints() > 0:
                parts.append(pv.wrap(data).copy())
    finally:
        vtk.vtkObject.SetGlobalWarningDisplay(previous)
    if not parts:
        raise InputFileError(path, "no IndexedFaceSet geometry found in the VRML file")
    merged = parts[0] if len(parts) == 1 else pv.merge(parts, merge_points=False)
    return _polydata_to_scan(merged, path)


PLY_SIZES = {
    "char": 1,
    "uchar": 1,
    "int8": 1,
    "uint8": 1,
    "short": 2,
    "ushort": 2,
    "int16": 2,
    "uint16": 2,
    "int": 4,
    "uint": 4,
    "int32": 4,
    "uint32": 4,
    "float": 4,
    "float32": 4,
    "double": 8,
    "float64": 8,
}


def _check_ply_complete(path: Path) -> None:
    """Refuse a PLY file shorter than its header promises (VTK's reader crashes on those).

    Binary: the body must hold at least every fixed-size element and, for list properties, the
    length field plus three items per face. ASCII: one non-empty line per element.
    """
    data = path.read_bytes()
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise InputFileError(path, "not a PLY file (no 'ply' header / 'end_header')")
    header = data[:end].decode("ascii", errors="replace").splitlines()
    body = data[data.index(b"\n", end) + 1 :] if b"\n" in data[end:] else b""
    fmt, elements = "ascii", []
    for line in header:
        words = line.split()
        if words[:1] == ["format"]:
            fmt = words[1]
        elif words[:1] == ["element"]:
            elements.append([int(words[2]), 0])
        elif words[:1] == ["property"] and elements:
            if words[1] == "list":
                elements[-1][1] += PLY_SIZES.get(words[2], 1) + 3 * PLY_SIZES.get(words[3], 4)
            else:
                elements[-1][1] += PLY_SIZES.get(words[1], 4)
    if fmt == "ascii":
        complete = len([line for line in body.splitlines() if line.strip()]) >= sum(n for n, _ in elements)
    else:
        complete = len(body) >= sum(n * size for n, size in elements)
    if not complete:
        raise InputFileError(
            path,
            f"truncated PLY file: the body is shorter than its header's {elements[0][0] if elements else 0} vertices and faces need",
        )


def _read_off(path: Path) -> Scan:
    """OFF with polygons of any size, fan-triangulated.

    Parsed here: VTK has no OFF reader and meshio's reads triangles only (and exits the
    process on anything else).
    """
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(errors="replace").splitlines()]
    tokens = " ".join(line for line in lines if line).split()
    if not tokens or not tokens[0].endswith("OFF"):
        raise InputFileError(path, "not an OFF file (no 'OFF' header)")
    try:
        n_vertices, n_faces = int(tokens[1]), int(tokens[2])
        values = np.array(tokens[4 : 4 + 3 * n_vertices], dtype=np.float64)
        cursor, faces = 4 + 3 * n_vertices, []
        for _ in range(n_faces):
            size = int(tokens[cursor])
            polygon = [int(t) for t in tokens[cursor + 1 : cursor + 1 + size]]
            if len(polygon) != size:
                raise IndexError
            faces += [(polygon[0], polygon[i], polygon[i + 1]) for i in range(1, size - 1)]
            cursor += 1 + size
    except (IndexError, ValueError) as err:
        raise InputFileError(path, f"truncated or malformed OFF file ({err or 'too few values'})") from err
    if len(values) != 3 * n_vertices or n_vertices == 0:
        raise InputFileError(path, "truncated OFF file: fewer vertices than its header says")
    if not faces:
        raise InputFileError(path, "the mesh has vertices but no faces")
    faces_array = np.array(faces, np.int64)
    if faces_array.max() >= n_vertices or faces_array.min() < 0:
        raise InputFileError(path, "a face refers to a vertex that does not exist")
    return Scan(values.reshape(-1, 3), faces_array)


def _read_with_vtk(path: Path):
    """``pyvista.read(path)``, refusing (``InputFileError``) a file VTK reports an error on.

    VTK's readers report a malformed file on their error output and return what they parsed; a
    truncated legacy ``.vtk`` file then holds face indices read from uninitialised memory, which
    can look valid. An error VTK reports is therefore a bad file.
    """
    import pyvista as pv

    try:
        with pv.VtkErrorCatcher(raise_errors=True, send_to_logging=False):
            return pv.read(path)
    except RuntimeError as err:
        message = " ".join(str(err).split())
        message = message.split("): ", 1)[-1].split(" ERROR: ", 1)[0]  # VTK's first message, without its source line
        message = message.split(" for file: ", 1)[0]
        raise InputFileError(path, f"VTK cannot read this {path.suffix[1:].upper()} file: {message[:200]}") from err


def read_scan(path: str | os.PathLike, use_vtk: bool = False) -> Scan:
    """Read one scan file → ``Scan`` (vertices in the file's units, triangles).

    ``use_vtk``: read VRML through VTK's importer only (the reference the benchmark compares to).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SCAN_EXTENSIONS:
        raise InputFileError(path, f"unsupported scan format {suffix!r}; known: {' '.join(SCAN_EXTENSIONS)}")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as err:
        raise InputFileError(path, f"cannot read the file ({err.strerror or err})") from err
    if size == 0:
        raise InputFileError(path, "the file is empty")
    try:
        if suffix == ".wrl":
            return _read_vrml(path, use_vtk)
        if suffix == ".off":
            return _read_off(path)
        if suffix == ".ply":
            _check_ply_complete(path)
        return _polydata_to_scan(_read_with_vtk(path), path)
    except InputFileError:
        raise
    except Exception as err:
        raise InputFileError(path, f"cannot parse {suffix[1:].upper()} ({type(err).__name__}: {err})") from err
