# Registered-mesh datasets (dataset.source: registered): frames already in the model's topology
# skip ingest and fit; one job per sequence checks the topology and writes the fit file.


rule registered:
    input:
        frames=sequence_frames,
        model=MODEL,
    output:
        fit=FIT_FILE,
        quarantine=QUARANTINE_FILE,
    log:
        results("logs", "registered", "{subject}", "{label}.log"),
    benchmark:
        results("benchmarks", "registered", "{subject}", "{label}.tsv")
    # On a cluster, one job per sequence runs this rule (as ingest + fit would).
    group:
        "sequence"
    conda:
        f"{ENVS}/fit.yaml"
    threads: 1
    resources:
        mem_mb=stage("registered", "mem_mb"),
        runtime=stage("registered", "runtime"),
    params:
        folder=sequence_folder,
        extension=EXTENSION,
        units=config["ingest"]["units"],
        min_frames=config["ingest"]["min_frames"],
        strict=config["strict"],
        code=code("registered"),
    script:
        "../scripts/registered.py"
