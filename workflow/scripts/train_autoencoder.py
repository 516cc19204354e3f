"""Rule train_autoencoder: train one fold's spiral auto-encoder (resumable)."""

import torch

from fer4d.logs import script_logging
from fer4d.train.autoencoder import AutoencoderOptions, train_autoencoder

with script_logging(snakemake.log[0], "rule train_autoencoder"):
    torch.set_num_threads(snakemake.threads)
    train_autoencoder(
        snakemake.input.store,
        snakemake.input.hierarchy,
        int(snakemake.wildcards.fold),
        snakemake.output.checkpoint,
        snakemake.output.metrics,
        snakemake.params.resume_dir,
        AutoencoderOptions.from_dict(snakemake.params.options),
        device=snakemake.params.device,
        seed=snakemake.params.seed,
    )
