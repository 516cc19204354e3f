# Gathering: the memory benchmark, the cross-validated report, the quarantine list, the run config.


rule memory_benchmark:
    input:
        # the classifier is measured at the width of the run's embeddings; so it also runs
        # beside the classifiers, not in front of the synthetic data that all else waits for
        embeddings=per_fold(rules.embed.output[0])[0],
    output:
        results("memory", "memory.json"),
    log:
        results("logs", "memory_benchmark.log"),
    benchmark:
        results("benchmarks", "memory_benchmark.tsv")
    priority: 1
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
        device=config["device"],
        code=code("memory_benchmark"),
    script:
        "../scripts/memory_benchmark.py"


rule report:
    input:
        predictions=per_fold(rules.train_transformer.output.predictions),
        histories=per_fold(rules.train_transformer.output.history),
        # Kind-major: every fold of the first kind, then of the next (params.baseline_kinds).
        baselines=expand(
            rules.train_baseline.output.predictions, kind=BASELINES, fold=FOLDS
        ),
        autoencoder_metrics=per_fold(rules.train_autoencoder.output.metrics),
        store=rules.store.output.store,
        memory=rules.memory_benchmark.output[0],
        # Every sequence (params.fits): the report draws the first one the store kept.
        fits=fitted(),
        # The ingested scans, drawn over the fit (none in a registered-mesh or 2D dataset).
        scans=[] if REGISTERED or VIDEO else per_sequence(rules.ingest.output.sequence),
        # The 2D path's landmark files, whose frames the fit is drawn over.
        landmarks=per_sequence(rules.landmarks.output.landmarks) if VIDEO else [],
    output:
        metrics=report_file("metrics"),
        metrics_csv=report_file("metrics_csv"),
        confusion_csv=report_file("confusion_csv"),
        confusion_png=report(
            report_file("confusion_png"),
            caption="../report/confusion_matrix.rst",
            category="Classification",
        ),
        confusion_svg=report_file("confusion_svg"),
        over_time=report(
            report_file("over_time"),
            caption="../report/probabilities_over_time.rst",
            category="Classification",
        ),
        training_curves=report(
            report_file("training_curves"),
            caption="../report/training_curves.rst",
            category="Training",
        ),
        reconstruction=report(
            report_file("reconstruction"),
            caption="../report/reconstruction_error.rst",
            category="Training",
        ),
        registration=report(
            report_file("registration"),
            caption="../report/registration_quality.rst",
            category="Registration",
        ),
        registered_sequence=report(
            report_file("registered_sequence"),
            caption="../report/registered_sequence.rst",
            category="Registration",
        ),
        landmark_overlay=report(
            report_file("landmark_overlay"),
            caption="../report/landmark_overlay.rst",
            category="Registration",
        ),
        memory=report(
            report_file("memory"),
            caption="../report/memory.rst",
            category="Memory",
        ),
        summary=report_file("summary"),
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
        fits=per_sequence(FIT_FILE),
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        baseline_kinds=BASELINES,
        repeats=config["folds"]["repeats"],
        code=code("report"),
    script:
        "../scripts/report.py"


rule quarantine:
    input:
        sequences=per_sequence(QUARANTINE_FILE),
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
    params:
        code=code("quarantine"),
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
        run=run_models(),
        code=code("run_config"),
    script:
        "../scripts/run_config.py"
