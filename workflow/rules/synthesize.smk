# The built-in synthetic dataset: a synthetic FLAME-format model and raw scans in BU-4DFE layout.


rule synth_model:
    output:
        model=results("model", "flame_synthetic.pkl"),
        landmarks=results("model", "flame_synthetic_landmarks.pkl"),
    log:
        results("logs", "synth_model.log"),
    benchmark:
        results("benchmarks", "synth_model.tsv")
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
