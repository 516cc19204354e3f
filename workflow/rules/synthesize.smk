# The built-in synthetic dataset: a synthetic FLAME-format model and raw scans in BU-4DFE layout.


rule synth_model:
    output:
        model=results("model", "flame_synthetic.pkl"),
        landmarks=results("model", "flame_synthetic_landmarks.pkl"),
    log:
        results("logs", "synth_model.log"),
    benchmark:
        results("benchmarks", "synth_model.tsv")
    # Priorities order the ready jobs when cores are short: first what the rest of the run
    # waits on (the synthetic data, then each fold's auto-encoder), the long trainings before
    # the short ones, so that the run does not end on one core.
    priority: 10
    conda:
        f"{ENVS}/synth.yaml"
    threads: 1
    resources:
        mem_mb=stage("synth_model", "mem_mb"),
        runtime=stage("synth_model", "runtime"),
    params:
        vertices=config["synthetic"]["model_vertices"],
        seed=config["seed"],
        code=code("synth_model"),
    script:
        "../scripts/synth_model.py"


rule synthesize:
    input:
        model=rules.synth_model.output.model,
    output:
        root=directory(results("raw")),
        manifest=results("raw_manifest.json"),
    log:
        results("logs", "synthesize.log"),
    benchmark:
        results("benchmarks", "synthesize.tsv")
    priority: 10
    conda:
        f"{ENVS}/synth.yaml"
    threads: stage("synthesize", "threads")
    resources:
        mem_mb=stage("synthesize", "mem_mb"),
        runtime=stage("synthesize", "runtime"),
    params:
        options=options("synthetic"),
        code=code("synthesize"),
    script:
        "../scripts/synthesize.py"
