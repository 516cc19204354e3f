# Gathering: the memory benchmark, the cross-validated report, the quarantine list, the run config.


rule memory_benchmark:
    output:
        results("memory", "memory.json"),
    log:
        results("logs", "memory_benchmark.log"),
    benchmark:
        results("benchmarks", "memory_benchmark.tsv")
    conda:
        f"{ENVS}/train.yaml"
    threads: 1
    resources:
        mem_mb=stage("memory_benchmark", "mem_mb"),
        runtime=stage("memory_benchmark", "runtime"),
    params:
        options=options("memory_benchmark"),
        transformer=options(
            "transformer", ("d_model", "heads", "layers", "ff", "dropout", "pooling")
        ),
        in_dim=config["autoencoder"]["latent"],
        device=config["device"],
        code=code_version("bench", "models.transformer"),
    script:
        "../scripts/memory_benchmark.py"


rule report:
    input:
        predictions=per_fold(rules.train_transformer.output.predictions),
        histories=per_fold(rules.train_transformer.output.history),
        autoencoder_metrics=per_fold(rules.train_autoencoder.output.metrics),
        store=rules.store.output.store,
        memory=rules.memory_benchmark.output[0],
        # Every sequence: the report draws the first one the store kept.
        fits=per_sequence(rules.fit.output[0]),
        scans=per_sequence(rules.ingest.output.sequence),
    output:
        metrics=results("report", "metrics.json"),
        metrics_csv=results("report", "metrics.csv"),
        confusion_csv=results("report", "confusion_matrix.csv"),
        confusion_png=report(
            results("report", "confusion_matrix.png"),
            caption="../report/confusion_matrix.rst",
            category="Classification",
        ),
        confusion_svg=results("report", "confusion_matrix.svg"),
        training_curves=report(
            results("report", "training_curves.png"),
            caption="../report/training_curves.rst",
            category="Training",
        ),
        reconstruction=report(
            results("report", "reconstruction_error.png"),
            caption="../report/reconstruction_error.rst",
            category="Training",
        ),
        registration=report(
            results("report", "registration_quality.png"),
            caption="../report/registration_quality.rst",
            category="Registration",
        ),
        registered_sequence=report(
            results("report", "registered_sequence.png"),
            caption="../report/registered_sequence.rst",
            category="Registration",
        ),
        memory=report(
            results("report", "memory.png"),
            caption="../report/memory.rst",
            category="Memory",
        ),
        summary=results("report", "report.md"),
    log:
        results("logs", "report.log"),
    benchmark:
        results("benchmarks", "report.tsv")
    conda:
        f"{ENVS}/report.yaml"
    threads: 1
    resources:
        mem_mb=stage("report", "mem_mb"),
        runtime=stage("report", "runtime"),
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        code=code_version("report"),
    script:
        "../scripts/report.py"


rule quarantine:
    input:
        sequences=per_sequence(rules.ingest.output.quarantine),
        store=rules.store.output.report,
    output:
        results("quarantine.json"),
    log:
        results("logs", "quarantine.log"),
    benchmark:
        results("benchmarks", "quarantine.tsv")
    conda:
        f"{ENVS}/ingest.yaml"
    threads: 1
    resources:
        mem_mb=stage("quarantine", "mem_mb"),
        runtime=stage("quarantine", "runtime"),
    script:
        "../scripts/quarantine.py"


rule run_config:
    output:
        results("config.json"),
    log:
        results("logs", "run_config.log"),
    benchmark:
        results("benchmarks", "run_config.tsv")
    conda:
        f"{ENVS}/report.yaml"
    threads: 1
    resources:
        mem_mb=stage("run_config", "mem_mb"),
        runtime=stage("run_config", "runtime"),
    params:
        config=config,
        model=MODEL,
    script:
        "../scripts/run_config.py"
