"""Rule quarantine: one list of every file and sequence that a stage set aside, and why."""

import json
from pathlib import Path

from fer4d.atomic import write_json
from fer4d.formats.ingested import read_quarantine
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule quarantine"):
    ingest = [item for path in snakemake.input.sequences for item in read_quarantine(path)]
    store = json.loads(Path(snakemake.input.store).read_text())
    write_json(snakemake.output[0], {"ingest": ingest, "store": store})
