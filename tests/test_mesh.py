"""Mesh hierarchy operators and spirals on meshes small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fer4d.flame import load_flame
from fer4d.formats.hierarchy import read_hierarchy, write_hierarchy
from fer4d.mesh import HierarchyOptions, build_hierarchy, spirals
from fer4d.mesh.spirals import oriented_one_rings
from fer4d.synth.facemodel import make_synthetic_flame

# A hexagonal fan: centre 0, rim 1..6 counter-clockwise.
FAN = np.array([[0, i, i % 6 + 1] for i in range(1, 7)])

# A 3×3 grid of vertices (0..8, row-major, y up), triangles oriented counter-clockwise:
# 6 7 8
# 3 4 5
# 0 1 2
GRID = np.array([[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4], [3, 4, 7], [3, 7, 6], [4, 5, 8], [4, 8, 7]])


def test_fan_centre_spiral_is_the_rim_in_order():
    assert spirals(FAN, 7, 7)[0].tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_boundary_vertex_walks_its_arc_then_the_next_ring():
    # rim vertex 1 has the arc 2 -> 0 -> 6 (face orientation), then 3, 4, 5 further out
    assert oriented_one_rings(FAN, 7)[1] == [2, 0, 6]
    assert spirals(FAN, 7, 7)[1].tolist() == [1, 2, 0, 6, 3, 4, 5]


def test_grid_spirals_by_hand():
    s = spirals(GRID, 9, 9)
    # interior vertex: ring starts at the smallest neighbour and turns counter-clockwise
    assert s[4].tolist() == [4, 0, 1, 5, 8, 7, 3, 2, 6]
    # corner vertex 0: the arc 1 -> 4 -> 3; then 1 adds 2, 5; 4 (its ring after 1) adds 8, 7;
    # 3 (its arc after 4) adds 6
    assert s[0].tolist() == [0, 1, 4, 3, 2, 5, 8, 7, 6]


def test_short_spirals_are_padded_with_the_centre_and_dilation_skips():
    tri = np.array([[0, 1, 2]])
    assert spirals(tri, 3, 5)[0].tolist() == [0, 1, 2, 0, 0]
    dilated = spirals(FAN, 7, 3, dilation=2)
    assert dilated[0].tolist() == [0, 2, 4]


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory):
    path = make_synthetic_flame(tmp_path_factory.mktemp("model") / "m.pkl", n_vertices=1500)
    model = load_flame(path)
    return model, build_hierarchy(model.v_template, model.faces, HierarchyOptions(factors=(4, 4), spiral_length=9))


def test_operator_shapes_and_weights(hierarchy):
    _model, h = hierarchy
    assert h.sizes[0] == 1500 and 330 <= h.sizes[1] <= 420 and 80 <= h.sizes[2] <= 110
    for l, (down, up) in enumerate(zip(h.down, h.up)):
        assert down.shape == (h.sizes[l + 1], h.sizes[l]) and up.shape == (h.sizes[l], h.sizes[l + 1])
        np.testing.assert_allclose(down.sum(1).A.ravel(), 1, atol=1e-5)  # averages
        np.testing.assert_allclose(up.sum(1).A.ravel(), 1, atol=1e-5)  # barycentric
        assert up.getnnz(1).max() <= 3 and (up.data >= -1e-6).all()
        assert down.nnz == h.sizes[l]  # every fine vertex goes to exactly one coarse vertex
    assert all(s.shape == (n, 9) for s, n in zip(h.spirals, h.sizes))
    assert all((s >= 0).all() and (s < n).all() for s, n in zip(h.spirals, h.sizes))


def test_down_then_up_reproduces_a_smooth_field(hierarchy):
    model, h = hierarchy
    field = model.v_template @ np.array([0.3, -0.2, 0.5]) + 0.001 * (model.v_template**2).sum(1)
    rebuilt = h.up[0] @ (h.down[0] @ field)
    error = np.abs(rebuilt - field) / np.ptp(field)
    assert error.mean() < 0.01 and np.median(error) < 0.005


def test_save_and_load_round_trip(hierarchy, tmp_path):
    _, h = hierarchy
    write_hierarchy(tmp_path / "h.npz", h)
    loaded = read_hierarchy(tmp_path / "h.npz")
    assert loaded.digest() == h.digest() and loaded.sizes == h.sizes
    assert abs(loaded.up[1] - h.up[1]).max() == 0 and abs(loaded.down[0] - h.down[0]).max() == 0
