"""Rule hierarchy: decimation hierarchy, pooling operators and spirals of the store's template."""

from fer4d.logs import script_logging
from fer4d.mesh import HierarchyOptions
from fer4d.train.hierarchy import build_hierarchy_file

with script_logging(snakemake.log[0], "rule hierarchy"):
    build_hierarchy_file(
        snakemake.input.store, snakemake.output[0], HierarchyOptions.from_dict(snakemake.params.options)
    )
