# The 2D path (frames that are images or videos): face landmarks per sequence, then FLAME fitted
# to them; the fit files have the scan fit's contract, so the store and what follows are shared.


if not config["flame"]["model"]:

    rule detector_embedding:
        input:
            model=MODEL,
        output:
            DETECTOR_EMBEDDING,
        log:
            results("logs", "detector_embedding.log"),
        benchmark:
            results("benchmarks", "detector_embedding.tsv")
        conda:
            f"{ENVS}/landmarks.yaml"
        threads: 1
        resources:
            mem_mb=stage("detector_embedding", "mem_mb"),
            runtime=stage("detector_embedding", "runtime"),
        params:
            code=code("detector_embedding"),
        script:
            "../scripts/detector_embedding.py"


rule landmarks:
    input:
        unpack(ingest_inputs),
    output:
        landmarks=results("landmarks", "{subject}", "{label}.h5"),
        quarantine=QUARANTINE_FILE,
    log:
        results("logs", "landmarks", "{subject}", "{label}.log"),
    benchmark:
        results("benchmarks", "landmarks", "{subject}", "{label}.tsv")
    # On a cluster, one job per sequence runs this rule with fit_landmarks.
    group:
        "sequence"
    conda:
        f"{ENVS}/landmarks.yaml"
    threads: 1
    resources:
        mem_mb=stage("landmarks", "mem_mb"),
        runtime=stage("landmarks", "runtime"),
    params:
        folder=sequence_folder,
        frames=sequence_frames,
        options=options("landmarks"),
        strict=config["strict"],
        code=code("landmarks"),
    script:
        "../scripts/landmarks.py"


rule fit_landmarks:
    input:
        landmarks=rules.landmarks.output.landmarks,
        model=MODEL,
        embedding=DETECTOR_EMBEDDING,
    output:
        FIT_FILE,
    log:
        results("logs", "fit_landmarks", "{subject}", "{label}.log"),
    benchmark:
        results("benchmarks", "fit_landmarks", "{subject}", "{label}.tsv")
    group:
        "sequence"
    conda:
        f"{ENVS}/fit.yaml"
    threads: stage("fit", "threads")
    resources:
        mem_mb=stage("fit", "mem_mb"),
        runtime=stage("fit", "runtime"),
    params:
        options=options("landmark_fit"),
        strict=config["strict"],
        code=code("fit_landmarks"),
    script:
        "../scripts/fit_landmarks.py"
