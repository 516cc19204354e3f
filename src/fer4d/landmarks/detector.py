"""Face landmarks with MediaPipe Face Mesh (Kartynnik et al. 2019; iris refinement: Ablavatski
et al. 2020), whose models ship inside the ``mediapipe`` wheel, so nothing is downloaded.

The legacy ``mediapipe.solutions`` API of mediapipe 0.10.14 (the last release with the models
bundled that runs with numpy 2): 468 points, 478 with the iris refinement. In video mode the mesh
is tracked from frame to frame; where tracking finds no face, the frame is detected again from
scratch (a static-image detector), so a lost face costs one frame at most. Each frame also gets
the confidence of MediaPipe's face detector (BlazeFace, full-range model).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from fer4d.landmarks.options import LandmarkOptions

MEDIAPIPE_VERSION = "0.10.14"
NEEDS_MEDIAPIPE = (
    f"the landmarks stage needs mediapipe {MEDIAPIPE_VERSION} (its face models ship in that wheel): "
    "pip install 'fer4d[video]', or the conda env envs/landmarks.yaml"
)


def _mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter
    # mediapipe 0.10.14 calls a protobuf API that protobuf 4 deprecates, once per frame
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    try:
        import mediapipe
    except ImportError as err:
        raise RuntimeError(NEEDS_MEDIAPIPE) from err
    if not hasattr(mediapipe, "solutions"):
        raise RuntimeError(f"mediapipe {mediapipe.__version__} has no bundled face models; {NEEDS_MEDIAPIPE}")
    return mediapipe


@dataclass
class Detection:
    """One frame's face: ``points (L, 3)`` float32 pixels (x, y, relative depth z); ``score`` the
    face detector's confidence (0 when only the tracker found the face); ``tracked``: found by
    tracking from the previous frame rather than by detection from scratch."""

    points: np.ndarray
    score: float
    tracked: bool


class FaceMeshDetector:
    """``with FaceMeshDetector(options) as detector: detection = detector.detect(rgb)``.

    ``detect`` takes ``(H, W, 3)`` uint8 RGB frames in sequence order and returns a
    :class:`Detection`, or None where no face is found.
    """

    def __init__(self, options: LandmarkOptions | None = None):
        self.options = options or LandmarkOptions()
        mp = _mediapipe()
        mesh = mp.solutions.face_mesh
        settings = {
            "max_num_faces": 1,
            "refine_landmarks": self.options.iris,
            "min_detection_confidence": self.options.min_detection_confidence,
        }
        self._tracker = (
            mesh.FaceMesh(
                static_image_mode=False, min_tracking_confidence=self.options.min_tracking_confidence, **settings
            )
            if self.options.tracking
            else None
        )
        self._static = mesh.FaceMesh(static_image_mode=True, **settings)
        self._boxes = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=self.options.min_detection_confidence
        )
        self.name = f"mediapipe {mp.__version__} face_mesh, {self.n_points} points"

    @property
    def n_points(self) -> int:
        return 478 if self.options.iris else 468

    def __enter__(self) -> FaceMeshDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for solution in (self._tracker, self._static, self._boxes):
            if solution is not None:
                solution.close()

    def detect(self, image: np.ndarray) -> Detection | None:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        height, width = image.shape[:2]
        tracked = self._tracker is not None
        found = self._tracker.process(image).multi_face_landmarks if tracked else None
        if not found:
            tracked = False
            found = self._static.process(image).multi_face_landmarks
        if not found:
            return None
        points = np.array([(p.x * width, p.y * height, p.z * width) for p in found[0].landmark], np.float32)
        boxes = self._boxes.process(image).detections
        score = max((float(d.score[0]) for d in boxes), default=0.0) if boxes else 0.0
        return Detection(points, score, tracked)
