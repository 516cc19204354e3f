"""Rule memory_benchmark: the classifier's peak memory and time per batch against sequence length."""

from fer4d.bench.memory import MemoryBenchmarkOptions, write_memory_benchmark
from fer4d.logs import configure_logging
from fer4d.train.classifier.options import TransformerOptions

configure_logging(snakemake.log[0])
write_memory_benchmark(
    snakemake.output[0],
    MemoryBenchmarkOptions.from_dict(snakemake.params.options),
    TransformerOptions.from_dict(snakemake.params.transformer),
    in_dim=snakemake.params.in_dim,
    device=snakemake.params.device,
)
