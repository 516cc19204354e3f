"""``fer4d bench landmarks``: face-landmark detection speed, video (tracking) and per-image modes
side by side on the same frames.

The frames are one face photo (``--image``) moved a little from frame to frame (a shift of up
to 4 pixels and a turn of up to 3 degrees, seeded), as a face moves in a video, or the frames of
a folder or video (``--source``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fer4d.bench.output import emit
from fer4d.landmarks.detector import FaceMeshDetector
from fer4d.landmarks.frames import read_image, sequence_frames
from fer4d.landmarks.options import LandmarkOptions


def jittered_frames(image: np.ndarray, n_frames: int, seed: int) -> list[np.ndarray]:
    """``n_frames`` copies of ``image (H, W, 3)`` uint8, each shifted and turned slightly."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    picture = Image.fromarray(image)
    frames = []
    for _ in range(n_frames):
        dx, dy = rng.uniform(-4, 4, size=2)
        moved = picture.rotate(rng.uniform(-3, 3), resample=Image.BILINEAR, translate=(dx, dy))
        frames.append(np.asarray(moved))
    return frames


def time_detection(frames: list[np.ndarray], options: LandmarkOptions) -> dict:
    """Milliseconds per frame and frames with a face, for one detector over ``frames``."""
    with FaceMeshDetector(options) as detector:
        detector.detect(frames[0])  # the first call loads the graph
        start = time.perf_counter()
        found = sum(detector.detect(frame) is not None for frame in frames)
        elapsed = time.perf_counter() - start
    return {"ms_per_frame": round(1000 * elapsed / len(frames), 2), "found": found}


def _main(args: argparse.Namespace) -> int:
    if args.source:
        frames = [frame.image for frame in sequence_frames(args.source) if frame.image is not None][: args.frames]
    else:
        frames = jittered_frames(read_image(args.image), args.frames, args.seed)
    video = time_detection(frames, LandmarkOptions(tracking=True))
    per_image = time_detection(frames, LandmarkOptions(tracking=False))
    result = {
        "benchmark": "landmarks",
        "frames": len(frames),
        "image_size": list(frames[0].shape[:2]),
        "video_ms_per_frame": video["ms_per_frame"],
        "video_frames_per_s": round(1000 / video["ms_per_frame"], 1),
        "video_found": video["found"],
        "per_image_ms_per_frame": per_image["ms_per_frame"],
        "per_image_found": per_image["found"],
        "speedup_of_tracking": round(per_image["ms_per_frame"] / video["ms_per_frame"], 2),
    }
    return emit(result, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("landmarks", help="face-landmark detection: frames/s, tracking vs per image")
    parser.add_argument("--image", default="tests/data/faces/astronaut_face.jpg", help="a face photo to jitter")
    parser.add_argument("--source", help="a folder of frames or a video instead of --image")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.set_defaults(func=_main)
