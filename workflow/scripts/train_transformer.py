"""Rule train_transformer: train one fold's temporal transformer and predict its test subjects."""

import torch

from fer4d.logs import script_logging
from fer4d.train.classifier.options import EvaluationOptions, TransformerOptions
from fer4d.train.classifier.training import train_transformer

with script_logging(snakemake.log[0], "rule train_transformer"):
    torch.set_num_threads(snakemake.threads)
    train_transformer(
        snakemake.input.embeddings,
        snakemake.output.checkpoint,
        snakemake.output.predictions,
        snakemake.output.history,
        TransformerOptions.from_dict(snakemake.params.options),
        device=snakemake.params.device,
        seed=snakemake.params.seed,
        evaluation=EvaluationOptions.from_dict(snakemake.params.evaluation),
    )
