"""The landmarks stage on real photos (tests/data/faces, from registry packages): MediaPipe finds
the face and plausible landmarks, measured against a 68-point annotation; frames without a face
or that cannot be decoded are quarantined; videos are read frame by frame."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fer4d.errors import InputFileError
from fer4d.formats.ingested import read_quarantine
from fer4d.formats.landmarks import read_landmarks
from fer4d.landmarks.detector import FaceMeshDetector
from fer4d.landmarks.frames import read_image
from fer4d.landmarks.options import LandmarkOptions
from fer4d.landmarks.stage import detect_sequence

FACES = Path(__file__).parent / "data" / "faces"
# The same eight points in MediaPipe's mesh and in the iBUG 68-point scheme (0-based): outer and
# inner eye corners, mouth corners, nose tip, chin, from the image's left to its right.
MEDIAPIPE_POINTS = [33, 133, 362, 263, 61, 291, 1, 152]
IBUG_POINTS = [36, 39, 42, 45, 48, 54, 30, 8]


def ibug_points(path: Path) -> np.ndarray:
    """A ``.pts`` annotation → (68, 2) pixels, 0-based (the format counts from 1)."""
    lines = path.read_text().splitlines()
    start = lines.index("{") + 1
    return np.array([[float(v) for v in line.split()] for line in lines[start : start + 68]]) - 1.0


def test_the_detector_finds_takeo_within_a_few_percent_of_the_annotation():
    image = read_image(FACES / "takeo.png")
    with FaceMeshDetector(LandmarkOptions(tracking=False)) as detector:
        detection = detector.detect(image)
    assert detection is not None and detection.points.shape == (478, 3)
    assert detection.score > 0.5
    truth = ibug_points(FACES / "takeo.pts")
    interocular = np.linalg.norm(truth[36] - truth[45])
    errors = np.linalg.norm(detection.points[MEDIAPIPE_POINTS, :2] - truth[IBUG_POINTS], axis=1) / interocular
    print(f"takeo: NME {errors.mean():.4f} of the inter-ocular distance ({interocular:.1f} px), 8 points")
    assert errors.mean() < 0.06 and errors.max() < 0.12


def test_plausible_landmarks_on_the_astronaut():
    image = read_image(FACES / "astronaut_face.jpg")
    with FaceMeshDetector() as detector:
        detection = detector.detect(image)
    points = detection.points
    height, width = image.shape[:2]
    assert np.all((points[:, 0] > 0) & (points[:, 0] < width) & (points[:, 1] > 0) & (points[:, 1] < height))
    eyes = points[[33, 263], :2]
    mouth, nose, chin = points[[61, 291], :2].mean(0), points[1, :2], points[152, :2]
    interocular = np.linalg.norm(eyes[0] - eyes[1])
    assert 0.2 * width < interocular < 0.5 * width
    assert eyes[:, 1].max() < nose[1] < mouth[1] < chin[1]  # top to bottom
    assert eyes[0, 0] < nose[0] < eyes[1, 0]


def test_a_frame_folder_keeps_every_row_and_quarantines_what_has_no_face(tmp_path):
    face = Image.open(FACES / "astronaut_face.jpg")
    folder = tmp_path / "S001" / "happiness" / "take0"
    folder.mkdir(parents=True)
    for t in range(4):
        face.rotate(3 * t, resample=Image.BILINEAR).save(folder / f"img_{t + 1:04d}.jpg")
    Image.new("RGB", face.size, (90, 110, 120)).save(folder / "img_0005.jpg")  # no face
    (folder / "img_0006.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")  # cannot be decoded
    face.resize((128, 128)).save(folder / "img_0007.jpg")  # another size
    (folder / "img_0008.jpg").symlink_to(folder / "missing.jpg")  # a dangling link
    os.mkfifo(folder / "img_0009.jpg")  # would block a decoder that opened it
    summary = detect_sequence(folder, tmp_path / "l.h5", tmp_path / "q.json", "S001", "happiness")
    assert summary["status"] == "ok" and summary["frames"] == 9 and summary["valid"] == 4
    assert summary["tracked"] >= 2  # the video mode tracked the face from frame to frame
    landmarks = read_landmarks(tmp_path / "l.h5")
    assert landmarks.valid.tolist() == [True] * 4 + [False] * 5
    assert landmarks.image_size == (256, 256) and landmarks.points.shape == (9, 478, 3)
    assert np.isnan(landmarks.points[4:]).all() and np.isfinite(landmarks.points[:4]).all()
    assert [Path(s).name for s in landmarks.sources] == [f"img_{t:04d}.jpg" for t in range(1, 10)]
    # the face turns with the images: the eye line's angle follows the rotation (3 degrees a frame)
    eye_line = landmarks.points[:4, 263, :2] - landmarks.points[:4, 33, :2]
    angles = np.degrees(np.arctan2(-eye_line[:, 1], eye_line[:, 0]))
    np.testing.assert_allclose(angles - angles[0], [0, 3, 6, 9], atol=1.5)
    problems = {Path(q["file"]).name: q["problem"] for q in read_quarantine(tmp_path / "q.json")}
    assert problems["img_0005.jpg"] == "no face found"
    assert problems["img_0006.jpg"].startswith("cannot decode the image")
    assert problems["img_0007.jpg"] == "image of 128 x 128 pixels, the sequence's are 256 x 256"
    assert problems["img_0008.jpg"].startswith("cannot open the image (No such file")
    assert problems["img_0009.jpg"] == "not a regular file"
    with pytest.raises(InputFileError, match="img_0005.jpg: no face found"):
        detect_sequence(folder, tmp_path / "s.h5", tmp_path / "s.json", "S001", "happiness", strict=True)
    assert not (tmp_path / "s.h5").exists()


def test_a_video_without_enough_faces_is_an_empty_sequence(tmp_path):
    face = np.asarray(Image.open(FACES / "astronaut_face.jpg"))
    video = tmp_path / "take.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (256, 256))
    for t in range(6):
        frame = face if t == 2 else np.full_like(face, 40 + 10 * t)
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()
    summary = detect_sequence(video, tmp_path / "l.h5", tmp_path / "q.json", "S", "sadness")
    assert summary["frames"] == 6 and summary["valid"] == 1 and summary["status"] == "empty"
    assert read_landmarks(tmp_path / "l.h5").valid.tolist() == [False, False, True, False, False, False]
    problems = [q["problem"] for q in read_quarantine(tmp_path / "q.json")]
    assert problems.count("no face found") == 5
    assert "only 1 frame(s) with a face; a sequence needs at least 2" in problems
    assert read_quarantine(tmp_path / "q.json")[0]["file"] == f"{video}#frame 0"


def test_the_cli_writes_the_landmark_file(tmp_path):
    folder = tmp_path / "S002" / "surprise"
    folder.mkdir(parents=True)
    for t in range(2):
        Image.open(FACES / "takeo.png").save(folder / f"img_{t:04d}.png")
    out = tmp_path / "l.h5"
    done = subprocess.run(
        [sys.executable, "-m", "fer4d.cli", "landmarks", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["subject"] == "S002" and summary["label"] == "surprise" and summary["valid"] == 2
    assert read_landmarks(out).detector.startswith("mediapipe 0.10.14 face_mesh, 478 points")


def test_the_landmark_benchmark_reports_both_modes_on_the_same_frames():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fer4d.cli",
            "bench",
            "landmarks",
            "--frames",
            "4",
            "--json",
            "--fit-frames",
            "3",
            "--image",
            str(FACES / "astronaut_face.jpg"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frames"] == 4 and result["video_found"] == result["per_image_found"] == 4
    assert result["video_ms_per_frame"] > 0 and result["speedup_of_tracking"] > 0
    assert result["fit_frames"] == 3 and result["fit_frames_per_s"] > 0 and result["fit_median_px"] < 5.0
