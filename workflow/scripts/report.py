"""Rule report: gather every fold into metrics, figures and a summary under results/report/."""

from fer4d.logs import configure_logging
from fer4d.report.build import ReportInputs, build_report

configure_logging(snakemake.log[0])
build_report(
    ReportInputs(
        predictions=list(snakemake.input.predictions),
        histories=list(snakemake.input.histories),
        autoencoder_metrics=list(snakemake.input.autoencoder_metrics),
        store=snakemake.input.store,
        memory=snakemake.input.memory,
        example_fit=snakemake.input.example_fit,
        example_scan=snakemake.input.example_scan,
    ),
    snakemake.params.out_dir,
)
