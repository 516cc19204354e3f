# Registration: one job per sequence fits FLAME to every frame (shared identity, per-frame expression).


rule fit:
    input:
        sequence=rules.ingest.output.sequence,
        model=MODEL,
    output:
        FIT_FILE,
    log:
        results("logs", "fit", "{subject}", "{label}.log"),
    benchmark:
        results("benchmarks", "fit", "{subject}", "{label}.tsv")
    # On a cluster, one job per sequence runs this rule with its neighbours (fewer submissions).
    group:
        "sequence"
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
