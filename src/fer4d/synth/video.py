"""Synthetic face videos: a simulated sequence's posed meshes rendered off-screen (pyvista), as a
camera in front of the subject would film them, for the 2D path (landmark detection and fit).

Per sequence a look is drawn from its random stream: a skin tone (a palette of light to dark
tones, jittered), a vertical background gradient, a key light above and to one side of the
camera, and the camera's offset (±15 mm) and distance (850–1000 mm, a 25° view: head and neck in the frame). Per frame the
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
        camera_distance=float(rng.uniform(850, 1000)),
    )


def render_frames(
    posed: np.ndarray, faces: np.ndarray, look: VideoLook, image_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Yield one ``(image_size, image_size, 3)`` uint8 RGB frame per mesh of ``posed (T, V, 3)`` mm
    (FLAME's frame: y up, the face towards +z), seen through ``look``'s camera."""
    import pyvista as pv

    cells = np.hstack([np.full((len(faces), 1), 3), faces]).ravel()
    mesh = pv.PolyData(np.asarray(posed[0], np.float32), cells)
    plotter = pv.Plotter(off_screen=True, window_size=(image_size, image_size), lighting="none")
    try:
        colour = lambda rgb: tuple(c / 255 for c in rgb)
        plotter.set_background(colour(look.background_bottom), top=colour(look.background_top))
        plotter.add_mesh(mesh, color=colour(look.skin), smooth_shading=True, specular=0.15, diffuse=0.85, ambient=0.3)
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
        for vertices in posed:
            mesh.points = np.asarray(vertices, np.float32)
            mesh.compute_normals(inplace=True)
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
