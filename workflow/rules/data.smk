# Data: the embedded phantom (or digits), the case table, the patient-level split and preprocessed arrays.

# The phantom rule exists only for dataset.name: phantom, so no rule has an output under a user's dataset.root.
if IS_PHANTOM:

    rule simulate_phantom:
        output:
            mass_train=f"{DATASET['root']}/{CASE_CSV_FILES['mass', 'train']}",
            mass_test=f"{DATASET['root']}/{CASE_CSV_FILES['mass', 'test']}",
            metadata=f"{DATASET['root']}/{METADATA_FILE}",
            ground_truth=f"{DATASET['root']}/{GROUND_TRUTH_FILE}",
            marker=f"{DATASET['root']}/{PHANTOM_MARKER}",
            images=directory(f"{DATASET['root']}/{PHANTOM_IMAGES_DIR}"),
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

# The digits (the second domain) likewise: exported only for dataset.name: digits, into a new, empty or earlier-export
# folder; then read like a user's image folder.
if IS_DIGITS:

    rule export_digits:
        output:
            marker=f"{DATASET['root']}/{DIGITS_MARKER}",
            folders=[directory(f"{DATASET['root']}/{folder}") for folder in DIGIT_FOLDERS],
        resources:
            mem_mb=1000,
            runtime=10,
        log:
            "logs/export_digits.log",
        benchmark:
            "benchmarks/export_digits.tsv"
        conda:
            ENV
        script:
            "../scripts/export_digits.py"


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
        sides=SIDES,
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
        reserve=EXPERIMENT["reserve"],  # training patients held back for the oracle arms (synthaug.split)
        sides=SIDES,
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
