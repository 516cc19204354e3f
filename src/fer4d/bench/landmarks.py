"""``fer4d bench landmarks``: face-landmark detection speed, video (tracking) and per-image modes
side by side on the same frames, and the speed of the FLAME fit to landmarks.

The frames are one face photo (``--image``) moved a little from frame to frame (a shift of up
to 4 pixels and a turn of up to 3 degrees, seeded), as a face moves in a video, or the frames of
a folder or video (``--source``). The fit runs on the synthetic model's 68 landmarks of a random
sequence (``--fit-frames`` frames) projected by a weak-perspective camera with 0.5 px noise.
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


def time_landmark_fit(n_frames: int, seed: int) -> dict:
    """Frames per second of ``fit_landmarks`` on a projected synthetic sequence, and its
    median reprojection error (px)."""
    import tempfile

    import torch

    from fer4d.fitting.landmarks import LandmarkFitOptions, fit_landmarks
    from fer4d.flame import load_flame
    from fer4d.flame.layer import FlameLayer
    from fer4d.synth.facemodel import make_synthetic_flame

    options = LandmarkFitOptions()
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        model = load_flame(make_synthetic_flame(f"{folder}/synthetic.pkl"))
    layer = FlameLayer(model, options.n_shape, options.n_expr, dtype=torch.float64)
    pose = torch.zeros(n_frames, 5, 3, dtype=torch.float64)
    pose[:, 0] = torch.as_tensor(rng.normal(scale=0.1, size=(n_frames, 3)))
    landmarks = layer(
        torch.as_tensor(rng.normal(size=(1, options.n_shape))).expand(n_frames, -1),
        torch.as_tensor(np.cumsum(rng.normal(scale=0.3, size=(n_frames, options.n_expr)), 0)),
        pose,
    ).landmarks.numpy()
    points = 3.0 * landmarks[..., :2] * [1, -1] + [128, 140] + rng.normal(scale=0.5, size=(n_frames, 68, 2))
    start = time.perf_counter()
    fit = fit_landmarks(points, model, model.lmk_face_idx, model.lmk_b_coords, options)
    elapsed = time.perf_counter() - start
    return {"frames_per_s": round(n_frames / elapsed, 2), "median_px": round(float(np.median(fit.residual_px)), 3)}


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
    if args.fit_frames:
        fit = time_landmark_fit(args.fit_frames, args.seed)
        result.update(fit_frames=args.fit_frames, fit_frames_per_s=fit["frames_per_s"], fit_median_px=fit["median_px"])
    return emit(result, args.json)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("landmarks", help="face-landmark detection: frames/s, tracking vs per image")
    parser.add_argument("--image", default="tests/data/faces/astronaut_face.jpg", help="a face photo to jitter")
    parser.add_argument("--source", help="a folder of frames or a video instead of --image")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--fit-frames", type=int, default=25, help="frames of the landmark-fit timing (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.set_defaults(func=_main)
