"""Rule fit: register FLAME to every frame of one subject's ingested sequences."""

import torch

from fer4d.fitting import FitOptions, fit_sequence_files
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule fit"):
    torch.set_num_threads(snakemake.threads)
    fit_sequence_files(
        list(snakemake.input.sequences),
        snakemake.input.model,
        snakemake.output[0],
        FitOptions.from_dict(snakemake.params.options),
        device=snakemake.params.device,
        seed=snakemake.params.seed,
        strict=snakemake.params.strict,
    )
