# Data: the embedded phantom, the case table, the patient-level split and preprocessed arrays.

PHANTOM_ROOT = DATASET["root"]


rule simulate_phantom:
    output:
        mass_train=f"{PHANTOM_ROOT}/mass_case_description_train_set.csv",
        mass_test=f"{PHANTOM_ROOT}/mass_case_description_test_set.csv",
        metadata=f"{PHANTOM_ROOT}/metadata.csv",
        ground_truth=f"{PHANTOM_ROOT}/ground_truth.csv",
        images=directory(f"{PHANTOM_ROOT}/CBIS-DDSM"),
    params:
        phantom=config["phantom"],
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/simulate_phantom.log",
    benchmark:
        "benchmarks/simulate_phantom.tsv"
    conda:
        ENV
    script:
        "../scripts/simulate_phantom.py"


rule ingest_cases:
    input:
        dataset_files(),
    output:
        cases="results/data/cases.csv",
        qc="results/data/qc.csv",
        summary="results/data/dataset_summary.csv",
        figure=report(
            "results/data/summary.png", caption="../report/dataset.rst", category="1. Data", labels={"figure": "pathologies"}
        ),
    params:
        dataset=DATASET,
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        "logs/ingest_cases.log",
    benchmark:
        "benchmarks/ingest_cases.tsv"
    conda:
        ENV
    script:
        "../scripts/ingest_cases.py"


rule split_cases:
    input:
        cases="results/data/cases.csv",
    output:
        split="results/data/split.csv",
    params:
        split=config["split"],
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/split_cases.log",
    benchmark:
        "benchmarks/split_cases.tsv"
    conda:
        ENV
    script:
        "../scripts/split_cases.py"


rule preprocess_images:
    input:
        cases="results/data/cases.csv",
        split="results/data/split.csv",
    output:
        train="results/data/train.npz",
        val="results/data/val.npz",
        test="results/data/test.npz",
    params:
        preprocess=config["preprocess"],
        image=DATASET["image"],
    threads: 4
    resources:
        mem_mb=8000,
        runtime=60,
    log:
        "logs/preprocess_images.log",
    benchmark:
        "benchmarks/preprocess_images.tsv"
    conda:
        ENV
    script:
        "../scripts/preprocess_images.py"
