# fer4d: raw 3D face-scan sequences -> FLAME registration -> spiral auto-encoder ->
# temporal transformer -> cross-validated report. See README.md and docs/architecture.md.
import os

from snakemake.utils import min_version, validate

min_version("9.0")


# The embedded default; a run overrides it with --configfile / --config.
configfile: os.path.join(workflow.basedir, "config.yaml")


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/synthesize.smk"


if REGISTERED:

    include: "workflow/rules/registered.smk"

elif VIDEO:

    include: "workflow/rules/landmarks.smk"

else:

    include: "workflow/rules/ingest.smk"
    include: "workflow/rules/fit.smk"


include: "workflow/rules/store.smk"
include: "workflow/rules/hierarchy.smk"
include: "workflow/rules/autoencoder.smk"
include: "workflow/rules/transformer.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/report.smk"


localrules:
    all,
    run_config,
    quarantine,


rule all:
    default_target: True
    input:
        rules.report.output,
        rules.run_config.output,
        rules.quarantine.output,
