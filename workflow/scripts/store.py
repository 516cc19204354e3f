"""Rule store: gather the fits into one HDF5 store with cross-validation folds."""

from fer4d.labels import LabelOptions
from fer4d.logs import script_logging
from fer4d.store import FoldOptions, StoreOptions, build_store

with script_logging(snakemake.log[0], "rule store"):
    build_store(
        list(snakemake.params.fits),
        snakemake.input.model,
        snakemake.output.store,
        snakemake.output.report,
        StoreOptions.from_dict(snakemake.params.options),
        FoldOptions.from_dict(snakemake.params.folds),
        config_hash=snakemake.params.config_hash,
        seed=snakemake.params.seed,
        subjects=snakemake.params.subjects,
        labels=LabelOptions.from_dict(snakemake.params.labels),
    )
