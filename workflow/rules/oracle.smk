# The oracle (phantom only): real images of extra simulated patients who are in no split, for the more_real arms.
# Included by the Snakefile only when dataset.name is phantom; never writes under dataset.root.

ORACLE_ROOT = "results/oracle/phantom"


rule simulate_extra_patients:
    input:
        cases="results/data/cases.csv",
        train="results/data/train.npz",
    output:
        root=directory(ORACLE_ROOT),
    params:
        phantom=config["phantom"],
        ratio=MORE_REAL_RATIO,
    threads: 2
    priority: 20  # a short step that unblocks many trainings: before the generators take a core each
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/simulate_extra_patients.log",
    benchmark:
        "benchmarks/simulate_extra_patients.tsv"
    conda:
        ENV
    script:
        "../scripts/simulate_extra_patients.py"


rule preprocess_extra_patients:
    input:
        root=ORACLE_ROOT,
        split="results/data/split.csv",
    output:
        extra="results/oracle/train.npz",
    params:
        preprocess=config["preprocess"],
        image=DATASET["image"],
    threads: 2
    priority: 20  # a short step that unblocks many trainings: before the generators take a core each
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/preprocess_extra_patients.log",
    conda:
        ENV
    script:
        "../scripts/preprocess_extra_patients.py"
