# Temporal model: one transformer per fold over the sequences of frame embeddings.


rule train_transformer:
    input:
        embeddings=rules.embed.output[0],
    output:
        checkpoint=results("folds", "{fold}", "transformer.pt"),
        predictions=results("folds", "{fold}", "predictions.json"),
        history=results("folds", "{fold}", "transformer_history.json"),
    log:
        results("logs", "train_transformer", "{fold}.log"),
    benchmark:
        results("benchmarks", "train_transformer", "{fold}.tsv")
    priority: 2
    # On a cluster, one job per fold runs this rule with its neighbours (fewer submissions).
    group:
        "fold"
    conda:
        f"{ENVS}/train.yaml"
    threads: stage("train_transformer", "threads")
    resources:
        mem_mb=stage("train_transformer", "mem_mb"),
        runtime=stage("train_transformer", "runtime"),
        gpu=stage("train_transformer", "gpu"),
    params:
        options=options("transformer"),
        evaluation=options("evaluation"),
        device=config["device"],
        seed=config["seed"],
        code=code("train_transformer"),
    script:
        "../scripts/train_transformer.py"
