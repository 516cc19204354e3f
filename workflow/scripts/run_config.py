"""Rule run_config: the run's validated config (defaults filled in) and where its trained models
are, for `fer4d predict`."""

from pathlib import Path

from fer4d.atomic import write_json
from fer4d.logs import script_logging

with script_logging(snakemake.log[0], "rule run_config"):
    resolved = dict(snakemake.params.config)
    resolved["flame"] = dict(resolved["flame"], model=str(Path(snakemake.params.model).resolve()))
    resolved["run"] = snakemake.params.run
    write_json(snakemake.output[0], resolved)
