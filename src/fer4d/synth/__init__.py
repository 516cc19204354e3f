"""fer4d.synth: a synthetic 4D facial expression dataset with raw scans and ground truth."""

from fer4d.synth.layout import FOLDERS, subject_name, synthetic_sequences
from fer4d.synth.options import SynthOptions

__all__ = ["FOLDERS", "SynthOptions", "subject_name", "synthetic_sequences"]
