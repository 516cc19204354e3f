"""fer4d.synth: a synthetic 4D facial expression dataset with raw scans and ground truth.

Subjects built on the synthetic FLAME-format face (``fer4d.synth.facemodel``) perform the six basic
expressions; every frame is written as a scanner would produce it (own triangulation, noise,
holes, spikes, stray fragments, scanner coordinates and units) in the BU-4DFE layout, with the
model-topology ground truth beside it (``fer4d.formats.groundtruth``).
"""

from fer4d.synth.baseline import apex_nearest_neighbour_accuracy
from fer4d.synth.dataset import synthesize_dataset
from fer4d.synth.face import FaceRig, build_face_rig
from fer4d.synth.layout import FOLDERS, subject_name, synthetic_sequences
from fer4d.synth.options import SynthOptions
from fer4d.synth.sequence import SyntheticSequence, simulate_sequence

__all__ = [
    "FOLDERS",
    "FaceRig",
    "SynthOptions",
    "SyntheticSequence",
    "apex_nearest_neighbour_accuracy",
    "build_face_rig",
    "simulate_sequence",
    "subject_name",
    "synthesize_dataset",
    "synthetic_sequences",
]
