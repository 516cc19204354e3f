# The mesh hierarchy (quadric decimation) and spirals of the template, computed once per template.


rule hierarchy:
    input:
        store=rules.store.output.store,
    output:
        results("mesh", "hierarchy.npz"),
    log:
        results("logs", "hierarchy.log"),
    benchmark:
        results("benchmarks", "hierarchy.tsv")
    conda:
        f"{ENVS}/train.yaml"
    threads: 1
    resources:
        mem_mb=stage("hierarchy", "mem_mb"),
        runtime=stage("hierarchy", "runtime"),
    params:
        options=options("hierarchy"),
        code=code("hierarchy"),
    script:
        "../scripts/hierarchy.py"
