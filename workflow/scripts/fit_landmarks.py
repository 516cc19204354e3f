"""Rule fit_landmarks: fit FLAME to one sequence's face landmarks."""

import torch

from fer4d.fitting.landmark_stage import fit_landmark_file
from fer4d.fitting.landmarks import LandmarkFitOptions
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule fit_landmarks"):
    torch.set_num_threads(snakemake.threads)
    fit_landmark_file(
        snakemake.input.landmarks,
        snakemake.input.model,
        snakemake.output[0],
        LandmarkFitOptions.from_dict(snakemake.params.options),
        strict=snakemake.params.strict,
    )
