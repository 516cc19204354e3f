"""Rule synth_model: write the synthetic FLAME-format model and its landmark embedding."""

from fer4d.logs import script_logging
from fer4d.synth.facemodel import make_synthetic_flame

with script_logging(snakemake.log[0], "rule synth_model"):
    make_synthetic_flame(
        snakemake.output.model,
        n_vertices=snakemake.params.vertices,
        seed=snakemake.params.seed,
        landmarks_path=snakemake.output.landmarks,
    )
