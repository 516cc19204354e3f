"""Rule landmarks: face landmarks of every frame of one 2D sequence; quarantine the bad frames."""

from fer4d.landmarks.options import LandmarkOptions
from fer4d.landmarks.stage import detect_sequence
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule landmarks"):
    frames = snakemake.params.frames  # None for the synthetic dataset: its folder is listed
    detect_sequence(
        snakemake.params.folder if frames is None else list(frames),
        snakemake.output.landmarks,
        snakemake.output.quarantine,
        snakemake.wildcards.subject,
        snakemake.wildcards.label,
        LandmarkOptions.from_dict(snakemake.params.options),
        strict=snakemake.params.strict,
    )
