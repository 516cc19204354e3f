# Registration: one job per subject fits FLAME to every frame of each of its sequences (one
# identity per sequence, per-frame expression), writing one fit file per sequence in its folder.


rule fit:
    input:
        sequences=subject_sequences(rules.ingest.output.sequence),
        model=MODEL,
    output:
        directory(FIT_FOLDER),
    log:
        results("logs", "fit", "{subject}.log"),
    benchmark:
        results("benchmarks", "fit", "{subject}.tsv")
    # On a cluster, one job per subject runs this rule with the subject's ingest jobs.
    group:
        "subject"
    conda:
        f"{ENVS}/fit.yaml"
    threads: stage("fit", "threads")
    resources:
        mem_mb=stage("fit", "mem_mb"),
        runtime=stage("fit", "runtime"),
        gpu=stage("fit", "gpu"),
    params:
        options=options("fit"),
        device=config["device"],
        seed=config["seed"],
        strict=config["strict"],
        code=code("fit"),
    script:
        "../scripts/fit.py"
