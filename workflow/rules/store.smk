# Gather every fit into one HDF5 store with subject-independent cross-validation folds.


rule store:
    input:
        fits=fitted(),
        model=MODEL,
    output:
        store=results("store", "dataset.h5"),
        report=results("store", "store_report.json"),
    log:
        results("logs", "store.log"),
    benchmark:
        results("benchmarks", "store.tsv")
    conda:
        f"{ENVS}/store.yaml"
    threads: 1
    resources:
        mem_mb=stage("store", "mem_mb"),
        runtime=stage("store", "runtime"),
    params:
        fits=per_sequence(FIT_FILE),
        options=options("store"),
        folds=options("folds"),
        labels=options("labels"),
        subjects=SUBJECTS,
        seed=config["seed"],
        config_hash=config_hash(
            "dataset",
            "labels",
            "flame",
            "synthetic",
            "ingest",
            "fit",
            "store",
            "folds",
            "seed",
        ),
        code=code("store"),
    script:
        "../scripts/store.py"
