"""fer4d.render: off-screen PNGs with something drawn in them."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from fer4d.render import Panel, render_meshes


def octahedron():
    vertices = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float) * 50.0
    faces = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    return vertices, faces


def drawn_fraction(path) -> float:
    image = imread(path)[..., :3]
    return float((image.min(axis=2) < 0.9).mean())


def test_render_writes_png_with_mesh_and_overlay(tmp_path):
    vertices, faces = octahedron()
    points = np.random.default_rng(0).normal(scale=30, size=(200, 3))
    out = render_meshes(
        [
            (vertices, faces, "mesh"),
            Panel(vertices, faces, "fit vs scan", overlay_points=points),
            Panel(points, None, "points only"),
            Panel(vertices, faces, "error", scalars=np.linspace(0, 1, 6)),
        ],
        tmp_path / "figure.png",
        columns=2,
        panel_size=(160, 160),
    )
    assert out.stat().st_size > 1000
    assert imread(out).shape[:2] == (320, 320)
    assert 0.02 < drawn_fraction(out) < 0.9
    assert not list(tmp_path.glob(".*part"))


def test_render_rejects_no_panels(tmp_path):
    with pytest.raises(ValueError):
        render_meshes([], tmp_path / "x.png")
