"""Rule detector_embedding: calibrate the face detector's points on the synthetic model."""

from fer4d.landmarks.embedding import write_calibrated_embedding
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule detector_embedding"):
    write_calibrated_embedding(snakemake.input.model, snakemake.output[0])
