"""The frames of one 2D sequence: a folder of images (MUG: ``img_0001.jpg`` ...) or a video file.

Images are decoded with Pillow, videos frame by frame with OpenCV (which the detector's package
brings). A frame that cannot be decoded, or whose size differs from the sequence's first frame,
comes back with its problem instead of pixels, so the caller quarantines it and goes on.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer4d.errors import InputFileError
from fer4d.io.layouts import list_frames

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")
MAX_PIXELS = 64_000_000
"""Larger images are refused unread (a decompression bomb, not a face photo)."""


@dataclass
class Frame:
    """Frame ``index`` of a sequence, from ``source``: ``image (H, W, 3)`` uint8 RGB, or None with
    the ``problem`` that kept it from being decoded."""

    index: int
    source: str
    image: np.ndarray | None
    problem: str | None = None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """One image file → ``(H, W, 3)`` uint8 RGB; InputFileError naming it when it cannot be decoded."""
    from PIL import Image

    try:
        mode = os.stat(path).st_mode
    except OSError as err:  # a dangling link, a link loop, no permission
        raise InputFileError(path, f"cannot open the image ({err.strerror})") from err
    if not stat.S_ISREG(mode):  # a FIFO or a device would block the decoder
        raise InputFileError(path, "not a regular file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise InputFileError(path, f"image of {image.width} x {image.height} pixels: too large")
                return np.asarray(image.convert("RGB"))
    except InputFileError:
        raise
    except Exception as err:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, ...)
        raise InputFileError(path, f"cannot decode the image ({type(err).__name__}: {err})") from err


def _video_frames(path: Path) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputFileError(path, "cannot open the video (not a video file, or a codec OpenCV lacks)")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            yield str(path), np.ascontiguousarray(bgr[:, :, ::-1]), None
    finally:
        capture.release()


def _listed_frames(files: list[Path]) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    """The frames of image files, and of every frame of the video files among them, in order."""
    for path in files:
        if path.suffix.lower() in VIDEO_EXTENSIONS:
            yield from _video_frames(path)
            continue
        try:
            yield str(path), read_image(path), None
        except InputFileError as err:
            yield str(path), None, err.problem


def sequence_frames(source: str | os.PathLike | list[str | os.PathLike]) -> Iterator[Frame]:
    """Every frame of ``source`` (a folder of images, a video file, or a list of image and video
    files), in order. A frame whose size differs from the first decoded frame's comes back with a
    problem."""
    if isinstance(source, list | tuple):
        raw = _listed_frames([Path(p) for p in source])
    elif Path(source).is_dir():
        raw = _listed_frames(list_frames(Path(source), IMAGE_EXTENSIONS))
    elif Path(source).suffix.lower() in (*VIDEO_EXTENSIONS, *IMAGE_EXTENSIONS):
        raw = _listed_frames([Path(source)])
    else:
        raise InputFileError(source, f"not a folder, a video ({', '.join(VIDEO_EXTENSIONS)}) or an image")
    size = None
    for index, (name, image, problem) in enumerate(raw):
        if image is not None:
            size = size or image.shape[:2]
            if image.shape[:2] != size:
                image, problem = (
                    None,
                    f"image of {image.shape[1]} x {image.shape[0]} pixels, the sequence's are {size[1]} x {size[0]}",
                )
        yield Frame(index, name, image, problem)


def read_frame(source: str | os.PathLike, index: int) -> np.ndarray:
    """Frame ``index`` of a sequence as ``(H, W, 3)`` uint8 RGB: the image file ``source``, or
    frame ``index`` of the video ``source``."""
    if Path(source).suffix.lower() not in VIDEO_EXTENSIONS:
        return read_image(source)
    import cv2

    capture = cv2.VideoCapture(str(source))
    try:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = capture.read()
    finally:
        capture.release()
    if not ok:
        raise InputFileError(source, f"cannot decode frame {index} of the video")
    return np.ascontiguousarray(bgr[:, :, ::-1])
