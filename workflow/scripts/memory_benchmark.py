"""Rule memory_benchmark: the classifier's peak memory and time per batch against sequence length."""

import torch

from fer4d.bench.memory import MemoryBenchmarkOptions, write_memory_benchmark
from fer4d.logs import script_logging
from fer4d.train.classifier.options import TransformerOptions

with script_logging(snakemake.log[0], "rule memory_benchmark"):
    torch.set_num_threads(snakemake.threads)
    write_memory_benchmark(
        snakemake.output[0],
        MemoryBenchmarkOptions.from_dict(snakemake.params.options),
        TransformerOptions.from_dict(snakemake.params.transformer),
        in_dim=snakemake.params.in_dim,
        device=snakemake.params.device,
    )
