"""Spiral orderings of mesh neighbourhoods (Bouritsas et al. 2019, "Neural 3D Morphable Models:
Spiral Convolutional Networks"; Gong et al. 2019, "SpiralNet++").

A spiral starts at a vertex, continues with its smallest-index neighbour and walks the one-ring
in the orientation of the faces (counter-clockwise seen from the front of a consistently
oriented mesh), then the next ring, continuing where the previous ring ended, and so on.
At an open boundary a ring is an arc, not a cycle: the walk starts at the arc's end that the
orientation gives and covers the whole arc. Spirals shorter than asked for (tiny meshes, corner
vertices) are padded with the centre vertex.
"""

from __future__ import annotations

import numpy as np


def oriented_one_rings(faces: np.ndarray, n_vertices: int) -> list[list[int]]:
    """For every vertex, its neighbours in face orientation order.

    faces: (F, 3) int. Each face (v, a, b) contributes the directed step a → b around v.
    Interior vertices get a cycle, boundary vertices the arc from the neighbour without an
    incoming step.
    """
    steps: list[dict[int, int]] = [dict() for _ in range(n_vertices)]
    for a, b, c in faces.tolist():
        steps[a][b] = c
        steps[b][c] = a
        steps[c][a] = b
    rings = []
    for v in range(n_vertices):
        nxt = steps[v]
        if not nxt:
            rings.append([])
            continue
        targets = set(nxt.values())
        starts = [u for u in nxt if u not in targets]  # boundary: arc start
        start = min(starts) if starts else min(nxt)
        ring, current = [start], start
        while current in nxt and nxt[current] != start and len(ring) <= len(nxt):
            current = nxt[current]
            ring.append(current)
        rings.append(ring)
    return rings


def _rotate_after(ring: list[int], previous: int | None) -> list[int]:
    """The ring's cycle started right after ``previous`` (unchanged if absent)."""
    if previous is None or previous not in ring:
        return ring
    i = ring.index(previous)
    return ring[i + 1 :] + ring[: i + 1]


def vertex_spiral(v: int, rings: list[list[int]], length: int) -> list[int]:
    """The spiral of vertex ``v`` with ``length`` entries (centre first), padded with ``v``.

    Ring k+1 is collected by visiting ring k in order; each of its vertices contributes its
    unseen neighbours in orientation order, starting right after the ring vertex visited
    before it (the ring's last vertex for the first one), so the walk continues outward.
    """
    spiral, seen = [v], {v}
    frontier = list(rings[v])
    seen.update(frontier)
    spiral += frontier
    while len(spiral) < length and frontier:
        ring, previous = [], frontier[-1]
        for u in frontier:
            for w in _rotate_after(rings[u], previous):
                if w not in seen:
                    seen.add(w)
                    ring.append(w)
            previous = u
        spiral += ring
        frontier = ring
    spiral = spiral[:length]
    return spiral + [v] * (length - len(spiral))


def spirals(faces: np.ndarray, n_vertices: int, length: int, dilation: int = 1) -> np.ndarray:
    """(V, length) int64 spiral indices of every vertex; with ``dilation`` d the spiral is
    walked to ``length * d`` entries and every d-th kept (the centre always first)."""
    rings = oriented_one_rings(np.asarray(faces), n_vertices)
    full = length * dilation
    out = np.empty((n_vertices, length), np.int64)
    for v in range(n_vertices):
        out[v] = vertex_spiral(v, rings, full)[::dilation][:length]
    return out
