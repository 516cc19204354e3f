"""Rule ingest: read, clean and store one raw scan sequence; quarantine the bad files."""

from fer4d.io.ingest import ingest_sequence
from fer4d.io.options import IngestOptions
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule ingest"):
    ingest_sequence(
        snakemake.params.frames,
        snakemake.output.sequence,
        snakemake.output.quarantine,
        snakemake.wildcards.subject,
        snakemake.wildcards.label,
        IngestOptions.from_dict(snakemake.params.options),
        strict=snakemake.params.strict,
        folder=snakemake.params.folder,
        extension=snakemake.params.extension,
    )
