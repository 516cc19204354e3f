"""Rule embed: encode every frame of every sequence with one fold's auto-encoder."""

import torch

from fer4d.logs import script_logging
from fer4d.train.embed import embed_fold

with script_logging(snakemake.log[0], "rule embed"):
    torch.set_num_threads(snakemake.threads)
    embed_fold(
        snakemake.input.store,
        snakemake.input.hierarchy,
        snakemake.input.checkpoint,
        int(snakemake.wildcards.fold),
        snakemake.output[0],
        device=snakemake.params.device,
    )
