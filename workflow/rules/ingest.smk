# Ingestion: one job per sequence turns raw scans into one clean, ragged HDF5 file.


rule ingest:
    input:
        unpack(ingest_inputs),
    output:
        sequence=results("ingest", "{subject}", "{label}.h5"),
        quarantine=QUARANTINE_FILE,
    log:
        results("logs", "ingest", "{subject}", "{label}.log"),
    benchmark:
        results("benchmarks", "ingest", "{subject}", "{label}.tsv")
    # On a cluster, one job per subject runs its sequences' ingest jobs with its fit job.
    group:
        "subject"
    conda:
        f"{ENVS}/ingest.yaml"
    threads: 1
    resources:
        mem_mb=stage("ingest", "mem_mb"),
        runtime=stage("ingest", "runtime"),
    params:
        folder=sequence_folder,
        frames=sequence_frames,
        extension=EXTENSION,
        options=options("ingest"),
        strict=config["strict"],
        code=code("ingest"),
    script:
        "../scripts/ingest.py"
