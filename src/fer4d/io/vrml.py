"""A vectorised reader for VRML 2.0 ``IndexedFaceSet`` scans (BU-4DFE's ``.wrl`` layout).

Only the scene structure (a few dozen tokens) is walked in Python; every number block
(``point [...]``, ``coordIndex [...]``, ``texCoordIndex [...]``) is sliced out of the text and
parsed by numpy in one call. The result is the one VTK's ``vtkVRMLImporter`` gives through
``fer4d.io.readers`` (same vertices, same faces, same order), including VTK's rules for:

- polygons of any size: all-triangle meshes are taken as they are, others go through VTK's own
  triangle filter (built from the parsed arrays, so still no per-token Python);
- per-corner texture indices: when ``texCoordIndex`` differs from ``coordIndex`` (or the texture
  coordinates do not match the points one to one), VTK duplicates every face corner into its own
  vertex, and so does this reader;
- several shapes: concatenated in file order; ``DEF``/``USE`` of a ``Coordinate`` or a ``Shape``;
- ``#`` comments; grouping by ``Transform``/``Group`` with identity transforms.

Anything else (PROTO, ROUTE, non-identity transforms, normals with their own indices, other
geometry nodes, polygons of fewer than three points, state VTK carries from one shape to the
next) makes ``read_indexed_face_sets`` return ``None``: the caller then uses VTK.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.io.scan import Scan

TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]|[^\s,\[\]{}"#]+')
"""Structural tokens: a string, a bracket or brace, or a word (name or number)."""
COMMENT_OR_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"|#[^\n]*')
COMMA_TO_SPACE = bytes.maketrans(b",", b" ")
GROUPS = {b"Transform", b"Group"}
IDENTITY = {  # Transform field → (number of values, values that leave the geometry unchanged)
    b"translation": (3, lambda v: not v.any()),
    b"rotation": (4, lambda v: v[3] == 0),
    b"scale": (3, lambda v: (v == 1).all()),
    b"center": (3, lambda v: True),
    b"scaleOrientation": (4, lambda v: True),
    b"bboxCenter": (3, lambda v: True),
    b"bboxSize": (3, lambda v: True),
}
SKIPPED_FACE_SET_FIELDS = {b"ccw", b"solid", b"convex", b"creaseAngle", b"colorPerVertex", b"normalPerVertex"}


class NeedsVTK(Exception):
    """The file uses a construct this reader leaves to VTK."""


@dataclass
class FaceSet:
    """One ``IndexedFaceSet`` as VTK would hand it to its mapper.

    points: (N, 3) float32, file units; sizes: (P,) corners per polygon; corners: (sum sizes,) int64.
    """

    points: np.ndarray
    sizes: np.ndarray
    corners: np.ndarray


def _fixed_point(block: bytes) -> np.ndarray | None:
    """``(n,) float32`` values of a block whose numbers all have the same count of decimals
    (``-25.575``, as scanners write them), or ``None``.

    Parsed as integers (three times faster than numpy's float parsing) and divided by 10^k in
    float64: an exact integer over an exact power of ten, correctly rounded, is the double
    ``strtod`` gives, so the float32 values are VTK's bit for bit (but ``-0.000`` becomes +0).
    """
    if b"e" in block or b"E" in block:
        return None
    chars = np.frombuffer(block + b" " * 11, np.uint8)
    dots = np.flatnonzero(chars == ord("."))
    if len(dots) == 0:
        return None
    first = block[dots[0] + 1 : dots[0] + 12]
    decimals = len(first) - len(first.lstrip(b"0123456789"))
    if not 0 < decimals <= 9:
        return None
    digit = (chars - ord("0")) < 10
    if digit[dots + decimals + 1].any() or not all(digit[dots + k].all() for k in range(1, decimals + 1)):
        return None  # some number has another count of decimals
    try:
        integers = _numbers(block.translate(COMMA_TO_SPACE, b"."), np.int64, Path())
    except NeedsVTK:
        return None
    if len(integers) != len(dots):
        return None  # a number without a decimal point
    return (integers / 10.0**decimals).astype(np.float32)


def _numbers(block: bytes, dtype: type, path: Path) -> np.ndarray:
    """Every number of an MF block (commas and whitespace separate) in one numpy call."""
    text = block.translate(COMMA_TO_SPACE)
    if not text or text.isspace():
        return np.zeros(0, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.fromstring(text, dtype=dtype, sep=" ")
        except (ValueError, DeprecationWarning) as err:
            if dtype is not np.float32:  # e.g. "1.0" in an index list: VTK's lexer decides
                raise NeedsVTK from err
            raise InputFileError(path, "malformed number in a VRML point list") from err


def _count_numbers(block: bytes) -> int:
    """How many comma/whitespace-separated values ``block`` holds, without parsing them."""
    if not block:
        return 0
    chars = np.frombuffer(block, np.uint8)
    separator = (chars <= 32) | (chars == ord(","))
    return int(np.count_nonzero(separator[:-1] & ~separator[1:])) + int(not separator[0])


def _polygons(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``coordIndex`` (``-1``-terminated runs) → (sizes, corners), splitting as VTK's importer does."""
    terminators = indices == -1
    if len(indices) % 4 == 0 and terminators[3::4].all() and np.count_nonzero(terminators) == len(indices) // 4:
        return np.full(len(indices) // 4, 3), indices.reshape(-1, 4)[:, :3].ravel()  # all triangles
    ends = np.flatnonzero(terminators)
    if len(indices) and indices[-1] != -1:
        ends = np.append(ends, len(indices))  # a last run without its -1 is still a polygon
    starts = np.concatenate([[0], ends[:-1] + 1]) if len(ends) else ends
    sizes = ends - starts
    return sizes, indices[~terminators]


class _Parser:
    """Walks the scene tokens; collects one ``FaceSet`` per ``Shape``, in file order."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0
        self.defs: dict[bytes, object] = {}
        self.face_sets: list[FaceSet] = []
        self.has_texture_indices = False

    def next(self) -> bytes:
        match = TOKEN.search(self.data, self.pos)
        if match is None:
            raise NeedsVTK
        self.pos = match.end()
        return match.group()

    def mf_span(self) -> tuple[int, int]:
        """Where the text of an MF value lies: a bracketed block or a single value without brackets."""
        start = self.pos
        if self.next() != b"[":
            return start, self.pos
        end = self.data.find(b"]", self.pos)
        if end < 0:
            raise NeedsVTK
        start, self.pos = self.pos, end + 1
        return start, end

    def mf_text(self) -> bytes:
        start, end = self.mf_span()
        return self.data[start:end]

    def skip_value(self) -> None:
        """Skip one field value: a bracketed list, a node, a string or a run of numbers/words."""
        token = self.next()
        if token in (b"[", b"{"):
            self.skip_balanced()
            return
        if token == b"DEF":
            self.next()
            token = self.next()
        if token in (b"USE", b"NULL", b"TRUE", b"FALSE") or token.startswith(b'"'):
            if token == b"USE":
                self.next()
            return
        if token[:1].isalpha() or token[:1] == b"_":  # a node: Name { ... }
            if self.next() != b"{":
                raise NeedsVTK
            self.skip_balanced()
            return
        while True:  # numbers of an SF/vector value: until the next word
            mark = self.pos
            following = TOKEN.search(self.data, mark)
            if following is None or not _is_number(following.group()):
                return
            self.pos = following.end()

    def skip_balanced(self) -> None:
        depth = 1
        while depth:
            token = self.next()
            if token in (b"[", b"{"):
                depth += 1
            elif token in (b"]", b"}"):
                depth -= 1

    def statements(self, closing: bytes | None) -> None:
        """Top-level nodes or a ``children [ ... ]`` list, up to ``closing``."""
        while True:
            match = TOKEN.search(self.data, self.pos)
            if match is None:
                if closing is None:
                    return
                raise NeedsVTK
            token = self.next()
            if token == closing:
                return
            self.node(token)

    def node(self, token: bytes) -> None:
        name = None
        if token == b"DEF":
            name, token = self.next(), self.next()
        if token == b"USE":
            used = self.defs.get(self.next())
            if not isinstance(used, FaceSet):
                raise NeedsVTK
            self.face_sets.append(used)
            return
        if self.next() != b"{":
            raise NeedsVTK
        if token in GROUPS:
            self.group(token)
        elif token == b"Shape":
            face_set = self.shape()
            self.face_sets.append(face_set)
            if name is not None:
                self.defs[name] = face_set
        elif token in (b"WorldInfo", b"NavigationInfo", b"Background", b"Viewpoint"):
            self.skip_balanced()
        else:
            raise NeedsVTK  # lights, PROTO instances, Switch, LOD, Inline, ...

    def group(self, kind: bytes) -> None:
        while (field := self.next()) != b"}":
            if field == b"children":
                if self.next() != b"[":
                    raise NeedsVTK
                self.statements(b"]")
            elif kind == b"Transform" and field in IDENTITY:
                count, unchanged = IDENTITY[field]
                values = np.array([float(self.next()) for _ in range(count)])
                if not unchanged(values):
                    raise NeedsVTK  # VTK puts transforms on its actors, not on the points
            elif field in (b"bboxCenter", b"bboxSize"):
                self.skip_value()
            else:
                raise NeedsVTK

    def shape(self) -> FaceSet:
        face_set = None
        while (field := self.next()) != b"}":
            if field == b"appearance":
                self.skip_value()
            elif field == b"geometry":
                token = self.next()
                if token != b"IndexedFaceSet" or self.next() != b"{":
                    raise NeedsVTK
                face_set = self.indexed_face_set()
            else:
                raise NeedsVTK
        if face_set is None:
            raise NeedsVTK
        return face_set

    def coordinate(self) -> np.ndarray:
        token = self.next()
        if token == b"USE":
            points = self.defs.get(self.next())
            if not isinstance(points, np.ndarray):
                raise NeedsVTK
            return points
        name = None
        if token == b"DEF":
            name, token = self.next(), self.next()
        if token != b"Coordinate" or self.next() != b"{" or self.next() != b"point":
            raise NeedsVTK
        text = self.mf_text()
        values = _fixed_point(text)
        if values is None:
            values = _numbers(text, np.float32, self.path)  # numpy, like VTK, rounds via double
        if self.next() != b"}" or len(values) % 3:
            raise NeedsVTK
        points = values.reshape(-1, 3)
        if name is not None:
            self.defs[name] = points
        return points

    def texture_count(self) -> int:
        """Number of texture coordinates in a ``TextureCoordinate`` node (only the count matters)."""
        if self.next() != b"TextureCoordinate" or self.next() != b"{" or self.next() != b"point":
            raise NeedsVTK
        n_values = _count_numbers(self.mf_text())
        if self.next() != b"}" or n_values % 2:
            raise NeedsVTK
        return n_values // 2

    def indexed_face_set(self) -> FaceSet:
        points = index_text = texture_index_span = None
        n_texture = None
        while (field := self.next()) != b"}":
            if field == b"coord":
                points = self.coordinate()
            elif field == b"coordIndex":
                index_text = self.mf_text()
            elif field == b"texCoord":
                n_texture = self.texture_count()
            elif field == b"texCoordIndex":
                texture_index_span = self.mf_span()
            elif field in SKIPPED_FACE_SET_FIELDS:
                self.skip_value()
            elif field in (b"color", b"colorIndex"):  # colours: no effect on the geometry
                if field == b"color":
                    self.skip_value()
                else:
                    self.mf_span()
            else:
                raise NeedsVTK  # normal / normalIndex / unknown fields
        if points is None or index_text is None:
            raise NeedsVTK
        sizes, corners = _polygons(_numbers(index_text, np.int32, self.path))
        if len(sizes) == 0 or sizes.min() < 3:
            raise NeedsVTK
        if corners.min() < 0 or corners.max() >= len(points):
            raise InputFileError(self.path, "a face refers to a vertex that does not exist")
        if texture_index_span is not None and n_texture is not None:
            self.has_texture_indices = True
            start, end = texture_index_span
            same_text = end - start == len(index_text) and self.data.startswith(index_text, start)
            if not same_text or n_texture != len(points):  # the same text: the same indices
                texture_indices = _numbers(self.data[start:end], np.int32, self.path)
                points, corners = _split_texture_corners(points, sizes, corners, texture_indices, n_texture)
        return FaceSet(points, sizes, corners)


def _is_number(token: bytes) -> bool:
    return bool(token) and token[:1] in b"+-.0123456789"


def _split_texture_corners(points, sizes, corners, texture_indices, n_texture):
    """VTK's rule for per-corner texture coordinates (``vtkVRMLImporter::exitNode``): when the
    texture faces use other indices than the faces, or the counts of points and texture
    coordinates differ, every face corner becomes its own vertex. → (points, corners)."""
    texture_sizes, texture_corners = _polygons(texture_indices)
    if len(texture_sizes) != len(sizes):
        return points, corners  # VTK reports the mismatch and keeps the shared vertices
    if n_texture == len(points):
        if np.array_equal(texture_sizes, sizes) and np.array_equal(texture_corners, corners):
            return points, corners
        if not np.array_equal(texture_sizes, sizes):
            raise NeedsVTK  # VTK stops comparing at the first face of another size
    elif not np.array_equal(texture_sizes, sizes):
        raise NeedsVTK  # VTK drops those faces; rare enough to leave to it
    return points[corners], np.arange(len(corners), dtype=np.int64)


def strip_comments(data: bytes) -> bytes:
    """Remove ``#`` comments (not inside strings); the header line is one."""
    if data.find(b"#", 1) < 0:  # only the header: the common case, no regex over the text
        return data[data.find(b"\n") + 1 :] if data.startswith(b"#") else data
    return COMMENT_OR_STRING.sub(lambda m: m.group() if m.group().startswith(b'"') else b"", data)


def read_indexed_face_sets(data: bytes, path: Path) -> list[FaceSet] | None:
    """Every shape's ``FaceSet`` in file order, or ``None`` where VTK must read the file."""
    parser = _Parser(strip_comments(data), path)
    try:
        parser.statements(None)
    except NeedsVTK:
        return None
    except (ValueError, IndexError):
        return None
    if not parser.face_sets or (parser.has_texture_indices and len(parser.face_sets) > 1):
        return None  # VTK carries texture state from one shape to the next: leave that to it
    return parser.face_sets


def face_sets_to_scan(face_sets: list[FaceSet]) -> Scan:
    """Shapes concatenated in order (point indices offset), polygons triangulated as VTK does."""
    offsets = np.cumsum([0] + [len(f.points) for f in face_sets])
    points = np.concatenate([f.points for f in face_sets])
    sizes = np.concatenate([f.sizes for f in face_sets])
    corners = np.concatenate([f.corners + offset for f, offset in zip(face_sets, offsets, strict=False)])
    if (sizes == 3).all():
        return Scan(points, corners.reshape(-1, 3))
    return _vtk_triangulate(points, sizes, corners)


def _vtk_triangulate(points: np.ndarray, sizes: np.ndarray, corners: np.ndarray) -> Scan:
    """Polygons → triangles through VTK's triangle filter (its ear-cut split, not a fan)."""
    import pyvista as pv

    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # each polygon's first corner
    cells = np.insert(corners, starts, sizes)  # VTK's legacy layout: n, i0, ..., i(n-1), n, ...
    triangles = pv.PolyData(points, faces=cells).triangulate()
    return Scan(np.asarray(triangles.points), triangles.faces.reshape(-1, 4)[:, 1:])
