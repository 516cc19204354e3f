# Baselines of the temporal model: one job per fold and kind, on the fold's embeddings (and the
# store, whose FLAME parameters the flame_transformer ablation reads instead).


rule train_baseline:
    input:
        embeddings=rules.embed.output[0],
        store=rules.store.output.store,
    output:
        predictions=results("folds", "{fold}", "baselines", "{kind}.json"),
    log:
        results("logs", "train_baseline", "{fold}_{kind}.log"),
    benchmark:
        results("benchmarks", "train_baseline", "{fold}_{kind}.tsv")
    wildcard_constraints:
        kind=r"[a-z_]+",
    # the trained ones (seed ensembles) take ~10x the linear ones: they go first
    priority: lambda wildcards: 2 if wildcards.kind in ("gru", "flame_transformer") else 0
    group:
        "fold"
    conda:
        f"{ENVS}/train.yaml"
    threads: stage("train_baseline", "threads")
    resources:
        mem_mb=stage("train_baseline", "mem_mb"),
        runtime=stage("train_baseline", "runtime"),
        gpu=stage("train_baseline", "gpu"),
    params:
        transformer=baseline_params("transformer"),
        baselines=baseline_params("baselines"),
        evaluation=options("evaluation"),
        device=config["device"],
        seed=config["seed"],
        code=code("train_baseline"),
    script:
        "../scripts/train_baseline.py"
