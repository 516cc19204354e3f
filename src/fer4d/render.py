"""Off-screen renders of meshes and point clouds to PNG (pyvista / VTK), for reports and checks.

A figure is a grid of panels; each panel shows one mesh (or point cloud) from the front, with
optional overlay points (e.g. a raw scan over its fit).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.image import imsave

from fer4d.atomic import atomic_path


@dataclass
class Panel:
    """One panel of a figure.

    vertices: (V, 3) float, any unit. faces: (F, 3) int or None (then drawn as points).
    title: caption. overlay_points: (P, 3) or None, drawn as small dots over the mesh.
    scalars: (V,) or None, colours the mesh through ``cmap`` (e.g. per-vertex error in mm).
    """

    vertices: np.ndarray
    faces: np.ndarray | None = None
    title: str = ""
    overlay_points: np.ndarray | None = None
    scalars: np.ndarray | None = None


def _as_panel(item: Panel | tuple) -> Panel:
    return item if isinstance(item, Panel) else Panel(*item)


def polydata(vertices: np.ndarray, faces: np.ndarray | None):
    """A pyvista surface of ``vertices (V, 3)`` (float32) and triangles ``faces (F, 3)``, or a
    point cloud when ``faces`` is None."""
    import pyvista as pv

    points = np.asarray(vertices, dtype=np.float32)
    if faces is None:
        return pv.PolyData(points)
    faces = np.asarray(faces, dtype=np.int64)
    cells = np.hstack([np.full((len(faces), 1), 3, dtype=np.int64), faces]).ravel()
    return pv.PolyData(points, cells)


def render_meshes(
    panels: list[Panel | tuple],
    out_path: str | os.PathLike,
    columns: int | None = None,
    panel_size: tuple[int, int] = (360, 420),
    color: str = "#e8c4a8",
    overlay_color: str = "#1f5fbf",
    backface_color: str = "#4a2c2a",
    background: str = "white",
    title_color: str = "black",
    cmap: str = "viridis",
    view_up: tuple[float, float, float] = (0.0, 1.0, 0.0),
    view_direction: tuple[float, float, float] = (0.0, 0.0, 1.0),
    same_scale: bool = True,
) -> Path:
    """Render ``panels`` side by side into one PNG at ``out_path``; returns the path.

    Each item is a ``Panel`` or a tuple ``(vertices, faces | None, title[, overlay_points])``.
    The camera looks at each panel's centre from ``view_direction`` (default: +z, frontal for
    FLAME) with ``view_up`` up; with ``same_scale`` every panel uses the largest panel's zoom.
    Back faces (the inside of a head seen through the mouth or eyes) get ``backface_color``;
    a dark ``background`` makes the openings of an open-backed face mask read as dark.
    """
    import pyvista as pv

    pv.OFF_SCREEN = True
    items = [_as_panel(item) for item in panels]
    if not items:
        raise ValueError("render_meshes needs at least one panel")
    columns = columns or min(len(items), 4)
    rows = math.ceil(len(items) / columns)
    plotter = pv.Plotter(
        off_screen=True,
        shape=(rows, columns),
        window_size=(panel_size[0] * columns, panel_size[1] * rows),
        border=False,
    )
    plotter.set_background(background)
    extents = [np.ptp(np.asarray(item.vertices), axis=0).max() for item in items]
    direction = np.asarray(view_direction, dtype=float)
    direction /= np.linalg.norm(direction)
    for number, item in enumerate(items):
        plotter.subplot(number // columns, number % columns)
        mesh = polydata(item.vertices, item.faces)
        if item.faces is None:
            plotter.add_mesh(mesh, color=color, point_size=3, render_points_as_spheres=True)
        elif item.scalars is not None:
            plotter.add_mesh(
                mesh, scalars=np.asarray(item.scalars), cmap=cmap, smooth_shading=True, show_scalar_bar=True
            )
        else:
            plotter.add_mesh(
                mesh, color=color, smooth_shading=True, specular=0.2, backface_params={"color": backface_color}
            )
        if item.overlay_points is not None:
            plotter.add_mesh(
                polydata(item.overlay_points, None), color=overlay_color, point_size=3, render_points_as_spheres=True
            )
        if item.title:
            plotter.add_text(item.title, font_size=11, color=title_color, position="upper_edge")
        centre = np.asarray(item.vertices).mean(axis=0)
        distance = 2.6 * (max(extents) if same_scale else extents[number])
        plotter.camera.focal_point = centre
        plotter.camera.position = centre + distance * direction
        plotter.camera.up = view_up
        plotter.camera.view_angle = 30.0
    image = plotter.screenshot(return_img=True)  # (H, W, 3) uint8
    plotter.close()
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        imsave(tmp, image, format="png")
    return out_path
