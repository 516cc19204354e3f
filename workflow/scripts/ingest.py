"""Rule ingest: read, clean and store one raw scan sequence; quarantine the bad files."""

from fer4d.io import IngestOptions, discover_sequences, ingest_sequence
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule ingest"):
    subject, label = snakemake.wildcards.subject, snakemake.wildcards.label
    entries = discover_sequences(
        snakemake.params.root,
        layout=snakemake.params.layout,
        extension=snakemake.params.extension,
        label_map=snakemake.params.label_map,
        unknown_labels=snakemake.params.unknown_labels,
    )
    entry = next(e for e in entries if (e.subject, e.label) == (subject, label))
    ingest_sequence(
        entry.frames,
        snakemake.output.sequence,
        snakemake.output.quarantine,
        subject,
        label,
        IngestOptions.from_dict(snakemake.params.options),
        strict=snakemake.params.strict,
        folder=entry.folder,
    )
