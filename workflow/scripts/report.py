"""Rule report: gather every fold into metrics, figures and a summary under results/report/."""

from fer4d.logs import script_logging
from fer4d.report.build import ReportInputs, baselines_by_kind, build_report

with script_logging(snakemake.log[0], "rule report"):
    scans = list(snakemake.input.scans)  # none in a registered-mesh dataset
    build_report(
        ReportInputs(
            predictions=list(snakemake.input.predictions),
            histories=list(snakemake.input.histories),
            baselines=baselines_by_kind(list(snakemake.input.baselines), snakemake.params.baseline_kinds),
            autoencoder_metrics=list(snakemake.input.autoencoder_metrics),
            store=snakemake.input.store,
            memory=snakemake.input.memory,
            examples=[(fit, scans[i] if scans else None) for i, fit in enumerate(snakemake.params.fits)],
            landmarks=list(snakemake.input.landmarks),
            repeats=snakemake.params.repeats,
        ),
        snakemake.params.out_dir,
    )
