"""fer4d.fitting: robust, landmark-free FLAME registration of 3D scan sequences."""

from fer4d.fitting.options import FitOptions
from fer4d.fitting.sequence import FitResult, fit_sequence
from fer4d.fitting.stage import fit_sequence_file, fit_sequence_files

__all__ = ["FitOptions", "FitResult", "fit_sequence", "fit_sequence_file", "fit_sequence_files"]
