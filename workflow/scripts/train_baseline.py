"""Rule train_baseline: train one fold's baseline of the transformer and predict its test subjects."""

import torch

from fer4d.logs import script_logging
from fer4d.train.classifier.baselines import train_baseline
from fer4d.train.classifier.options import BaselineOptions, EvaluationOptions, TransformerOptions

with script_logging(snakemake.log[0], f"rule train_baseline ({snakemake.wildcards.kind})"):
    torch.set_num_threads(snakemake.threads)
    train_baseline(
        snakemake.input.embeddings,
        snakemake.output.predictions,
        snakemake.wildcards.kind,
        TransformerOptions.from_dict(snakemake.params.transformer),
        BaselineOptions.from_dict(snakemake.params.baselines),
        device=snakemake.params.device,
        seed=snakemake.params.seed,
        evaluation=EvaluationOptions.from_dict(snakemake.params.evaluation),
        store_path=snakemake.input.store,
    )
