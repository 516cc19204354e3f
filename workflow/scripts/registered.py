"""Rule registered: check and align one sequence of meshes already in the model's topology."""

from fer4d.fitting.registered import import_registered_sequence
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule registered"):
    import_registered_sequence(
        list(snakemake.input.frames),
        snakemake.input.model,
        snakemake.output.fit,
        snakemake.output.quarantine,
        snakemake.wildcards.subject,
        snakemake.wildcards.label,
        units=snakemake.params.units,
        min_frames=snakemake.params.min_frames,
        strict=snakemake.params.strict,
        folder=snakemake.params.folder,
        extension=snakemake.params.extension,
    )
