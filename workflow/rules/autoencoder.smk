# Spatial model: one spiral auto-encoder per fold, then every frame encoded with it.


rule train_autoencoder:
    input:
        store=rules.store.output.store,
        hierarchy=rules.hierarchy.output[0],
    output:
        checkpoint=results("folds", "{fold}", "autoencoder.pt"),
        metrics=results("folds", "{fold}", "autoencoder_metrics.json"),
    log:
        results("logs", "train_autoencoder", "{fold}.log"),
    benchmark:
        results("benchmarks", "train_autoencoder", "{fold}.tsv")
    priority: 3
    # On a cluster, one job per fold runs this rule with its neighbours (fewer submissions).
    group:
        "fold"
    conda:
        f"{ENVS}/train.yaml"
    threads: stage("train_autoencoder", "threads")
    resources:
        mem_mb=stage("train_autoencoder", "mem_mb"),
        runtime=stage("train_autoencoder", "runtime"),
        gpu=stage("train_autoencoder", "gpu"),
    params:
        # Resume state lives outside the declared outputs, which Snakemake deletes on a rerun.
        resume_dir=results("resume", "{fold}", "autoencoder"),
        options=options("autoencoder"),
        device=config["device"],
        seed=config["seed"],
        code=code("train_autoencoder"),
    script:
        "../scripts/train_autoencoder.py"


rule embed:
    input:
        store=rules.store.output.store,
        hierarchy=rules.hierarchy.output[0],
        checkpoint=rules.train_autoencoder.output.checkpoint,
    output:
        results("folds", "{fold}", "embeddings.h5"),
    log:
        results("logs", "embed", "{fold}.log"),
    benchmark:
        results("benchmarks", "embed", "{fold}.tsv")
    priority: 3
    # On a cluster, one job per fold runs this rule with its neighbours (fewer submissions).
    group:
        "fold"
    conda:
        f"{ENVS}/train.yaml"
    threads: stage("embed", "threads")
    resources:
        mem_mb=stage("embed", "mem_mb"),
        runtime=stage("embed", "runtime"),
        gpu=stage("embed", "gpu"),
    params:
        device=config["device"],
        code=code("embed"),
    script:
        "../scripts/embed.py"
