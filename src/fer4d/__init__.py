"""fer4d: dynamic 3D facial expression recognition.

Raw 3D face-scan sequences are registered with the FLAME model, encoded frame by frame with a
spiral-convolution auto-encoder, and classified with a temporal transformer.
"""

__version__ = "0.1.0"

LABELS: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
"""The six basic expressions, in the canonical order used for class indices everywhere."""

BU4DFE_FOLDERS: dict[str, str] = {
    "anger": "Angry",
    "disgust": "Disgust",
    "fear": "Fear",
    "happiness": "Happy",
    "sadness": "Sad",
    "surprise": "Surprise",
}
"""Canonical label → BU-4DFE expression folder name (the synthetic dataset uses the same layout)."""
