"""Rule memory_benchmark: the classifier's peak memory and time per batch against sequence length."""

from fer4d.bench.memory import MemoryBenchmarkOptions, write_memory_benchmark
from fer4d.formats.embeddings import embedding_width
from fer4d.logs import script_logging
from fer4d.train.classifier.options import TransformerOptions

with script_logging(snakemake.log[0], "rule memory_benchmark"):
    write_memory_benchmark(
        snakemake.output[0],
        MemoryBenchmarkOptions.from_dict(snakemake.params.options),
        TransformerOptions.from_dict(snakemake.params.transformer),
        in_dim=embedding_width(snakemake.input.embeddings),
        device=snakemake.params.device,
    )
