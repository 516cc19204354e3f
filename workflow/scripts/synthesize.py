"""Rule synthesize: write the synthetic raw-scan dataset in BU-4DFE layout, with ground truth."""

import shutil
from pathlib import Path

from fer4d.atomic import atomic_path
from fer4d.logs import script_logging
from fer4d.synth import SynthOptions, synthesize_dataset

# Guarded: the generator's worker processes re-import this file as __mp_main__.
if __name__ == "__main__":
    with script_logging(snakemake.log[0], "rule synthesize"):
        synthesize_dataset(
            snakemake.input.model,
            snakemake.output.root,
            SynthOptions.from_dict(snakemake.params.options),
            workers=snakemake.threads,
        )
        with atomic_path(snakemake.output.manifest) as tmp:
            shutil.copyfile(Path(snakemake.output.root) / "manifest.json", tmp)
