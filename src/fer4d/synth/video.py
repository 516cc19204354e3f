"""Synthetic face videos: a simulated sequence's posed meshes rendered off-screen (pyvista), as a
camera in front of the subject would film them, for the 2D path (landmark detection and fit).

Per sequence a look is drawn from its random stream: a skin tone (a palette of light to dark
tones, jittered), a vertical background gradient, a key light above and to one side of the
camera, and the camera's offset (±15 mm) and distance (600–700 mm, a 25° view: the face fills most of the frame, as in MUG). Per frame the
image gets sensor noise (σ 2 grey levels) on top of the head's own motion; JPEG frames are saved
at quality 90. MUG films 896 × 896 faces at 19 fps; ``image_size`` (default 480) trades
resolution for speed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer4d.atomic import atomic_path
from fer4d.render import polydata
from fer4d.synth.facemodel.geometry import EYE_CENTRES, EYE_RADII, MOUTH_HALF_WIDTH, MOUTH_Y

IMAGE_FORMATS = ("jpg", "png")
SKIN_TONES = ((236, 192, 160), (224, 172, 145), (198, 140, 105), (160, 110, 80), (112, 76, 56))
"""RGB skin tones from light to dark, the palette of the synthetic subjects."""


@dataclass(frozen=True)
class VideoLook:
    """How one sequence is filmed: colours (RGB 0–255), key light position and camera placement
    relative to the face centre (mm)."""

    skin: tuple[int, int, int]
    background_top: tuple[int, int, int]
    background_bottom: tuple[int, int, int]
    light: tuple[float, float, float]
    camera_offset: tuple[float, float]
    camera_distance: float


def draw_look(rng: np.random.Generator) -> VideoLook:
    """A random :class:`VideoLook`."""
    base = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))], float)
    skin = np.clip(base * rng.uniform(0.92, 1.08) + rng.normal(0, 4, 3), 0, 255)
    top = rng.uniform(40, 200, 3)
    bottom = np.clip(top * rng.uniform(0.5, 0.9), 0, 255)
    light = (float(rng.uniform(-400, 400)), float(rng.uniform(100, 500)), float(rng.uniform(500, 900)))
    return VideoLook(
        skin=tuple(int(c) for c in skin),
        background_top=tuple(int(c) for c in top),
        background_bottom=tuple(int(c) for c in bottom),
        light=light,
        camera_offset=(float(rng.uniform(-15, 15)), float(rng.uniform(-15, 15))),
        camera_distance=float(rng.uniform(600, 700)),
    )


LIPS = (0.78, 0.5, 0.5)
"""Lip colour as a fraction of the skin's RGB."""
BROW_RGB = (62, 44, 34)
LASH_RGB = (40, 30, 28)
SCLERA_RGB, IRIS_RGB, PUPIL_RGB = (232, 226, 220), (92, 64, 40), (15, 12, 12)
MOUTH_RGB = (70, 28, 30)
BROW_X = np.array([14.0, 23.0, 32.0, 41.0, 50.0])
BROW_Y = np.array([21.0, 23.5, 24.0, 22.5, 18.0])
"""The brow line on the synthetic template (mm, one side), as its 68-point landmarks place it."""


def eye_ellipse(template: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """(V,) each template vertex's squared elliptic radius about an eye opening's ``centre``
    (x, y) mm, in units of its half width and half height: 1 on the opening's rim."""
    return ((template[:, 0] - centre[0]) / EYE_RADII[0]) ** 2 + ((template[:, 1] - centre[1]) / EYE_RADII[1]) ** 2


def face_colours(template: np.ndarray, skin: tuple[int, int, int]) -> np.ndarray:
    """(V, 3) uint8 per-vertex colours of the synthetic face by where each template vertex
    (mm) lies: skin, red lips round the mouth slit, dark brows along the brow line, dark lash
    rims round the eye openings (``fer4d.synth.facemodel.geometry``'s mouth and eyes)."""
    x, y = template[:, 0], template[:, 1]
    colours = np.tile(np.asarray(skin, float), (len(template), 1))
    below = y < MOUTH_Y
    lips = (x / MOUTH_HALF_WIDTH) ** 2 + ((y - MOUTH_Y) / np.where(below, 10.0, 7.0)) ** 2 < 1.0
    colours[lips] *= LIPS
    brow_y = np.interp(np.abs(x), BROW_X, BROW_Y)
    colours[(np.abs(x) >= BROW_X[0] - 2) & (np.abs(x) <= BROW_X[-1] + 2) & (np.abs(y - brow_y) < 2.5)] = BROW_RGB
    for centre in EYE_CENTRES:
        ring = eye_ellipse(template, centre)
        colours[(ring > 0.8) & (ring < 1.6)] = LASH_RGB
    return np.clip(colours, 0, 255).astype(np.uint8)


def _eyeball(radius: float):
    """A sphere (centre 0) coloured as an eye looking along +z: sclera, iris, pupil."""
    import pyvista as pv

    sphere = pv.Sphere(radius=radius, theta_resolution=24, phi_resolution=24)
    angle = np.degrees(np.arccos(np.clip(np.asarray(sphere.points)[:, 2] / radius, -1, 1)))
    colours = np.where(angle[:, None] < 12, PUPIL_RGB, np.where(angle[:, None] < 30, IRIS_RGB, SCLERA_RGB))
    sphere.point_data["rgb"] = colours.astype(np.uint8)
    return sphere


def head_rotations(global_pose: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotation matrices of FLAME's global (head) axis-angles ``(T, 3)`` rad."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(np.asarray(global_pose, float)).as_matrix()


def render_frames(
    posed: np.ndarray,
    faces: np.ndarray,
    template: np.ndarray,
    head_pose: np.ndarray,
    look: VideoLook,
    image_size: int,
    rng: np.random.Generator,
) -> Iterator[np.ndarray]:
    """Yield one ``(image_size, image_size, 3)`` uint8 RGB frame per mesh of ``posed (T, V, 3)`` mm
    (FLAME's frame: y up, the face towards +z), seen through ``look``'s camera.

    The face is coloured by :func:`face_colours` of its ``template (V, 3)`` mm; eyeballs (sclera,
    iris, pupil) sit in the eye openings and a dark mouth cavity behind the lips, carried with
    the head by the rims of the eye openings and ``head_pose (T, 3)`` (FLAME's global rotation).
    """
    import pyvista as pv

    mesh = polydata(posed[0], faces)
    mesh.point_data["rgb"] = face_colours(template, look.skin)
    rims = [np.flatnonzero(np.abs(eye_ellipse(template, centre) - 1.2) < 0.4) for centre in EYE_CENTRES]
    rim_mid = np.mean([template[rim].mean(0) for rim in rims], axis=0)
    eyes = [_eyeball(EYE_RADII[0] * 0.9) for _ in rims]
    eye_points = [np.asarray(eye.points).copy() for eye in eyes]
    cavity = pv.Sphere(radius=22.0)
    cavity_points = np.asarray(cavity.points).copy()
    cavity_offset = np.array([0.0, MOUTH_Y, 65.0]) - rim_mid  # behind the lips, from the eyes' midpoint
    rotations = head_rotations(head_pose)
    plotter = pv.Plotter(off_screen=True, window_size=(image_size, image_size), lighting="none")
    try:
        colour = lambda rgb: tuple(c / 255 for c in rgb)
        plotter.set_background(colour(look.background_bottom), top=colour(look.background_top))
        # pyvista's smooth_shading renders a copy of the mesh (to add normals), which the frame
        # loop would not move: the meshes carry their own normals, Gouraud-shaded
        for shape in (mesh, *eyes):
            shape.compute_normals(inplace=True, split_vertices=False)
            actor = plotter.add_mesh(shape, scalars="rgb", rgb=True, specular=0.15, diffuse=0.85, ambient=0.3)
            actor.prop.interpolation = "gouraud"
        plotter.add_mesh(cavity, color=colour(MOUTH_RGB), ambient=0.5, diffuse=0.5)
        centre = posed[0].mean(0)
        plotter.add_light(pv.Light(position=tuple(centre + look.light), focal_point=tuple(centre), intensity=0.9))
        plotter.add_light(pv.Light(light_type="headlight", intensity=0.35))
        camera = (
            centre[0] + look.camera_offset[0],
            centre[1] + look.camera_offset[1],
            centre[2] + look.camera_distance,
        )
        plotter.camera.position, plotter.camera.focal_point, plotter.camera.up = camera, tuple(centre), (0, 1, 0)
        plotter.camera.view_angle = 25.0
        for vertices, rotation in zip(posed, rotations, strict=True):
            mesh.points = np.asarray(vertices, np.float32)
            mesh.compute_normals(inplace=True, split_vertices=False)
            forward = rotation[:, 2]
            rim_centres = [vertices[rim].mean(0) for rim in rims]
            for eye, points, rim_centre in zip(eyes, eye_points, rim_centres, strict=True):
                eye.points = (points @ rotation.T + rim_centre - 9.0 * forward).astype(np.float32)
                eye.compute_normals(inplace=True, split_vertices=False)
            cavity.points = (cavity_points @ rotation.T + np.mean(rim_centres, 0) + rotation @ cavity_offset).astype(
                np.float32
            )
            plotter.render()  # a screenshot alone returns the last rendered image
            image = plotter.screenshot(return_img=True)[:, :, :3].astype(np.float32)
            image += rng.normal(0.0, 2.0, image.shape)
            yield np.clip(image, 0, 255).astype(np.uint8)
    finally:
        plotter.close()


def write_frames(folder: str | os.PathLike, frames: Iterator[np.ndarray], image_format: str) -> int:
    """Write ``img_0001.{format}``, ``img_0002…`` (MUG's names) into ``folder``, each atomically;
    return the count."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for count, frame in enumerate(frames, start=1):
        with atomic_path(folder / f"img_{count:04d}.{image_format}") as tmp:
            Image.fromarray(frame).save(tmp, format="JPEG" if image_format == "jpg" else "PNG", quality=90)
    return count
