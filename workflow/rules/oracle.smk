# The oracle: real images of new patients for the more_real arms, from the reserve (training patients held back by
# experiment.reserve in split_cases, on every dataset). First, as soon as the split is known, a cheap check that the
# reserve holds what the arms draw; then its images, preprocessed like the training split.


rule check_reserve_counts:
    input:
        split="results/data/split.csv",
    output:
        counts="results/oracle/counts.json",
    params:
        arms=ARM_NAMES,
        reserve=EXPERIMENT["reserve"],
    localrule: True
    # Before everything else that becomes ready with it (preprocess_images, which every training waits for), like
    # check_synthetic_counts: a failed check stops the run before any classifier starts. Not an input of the
    # trainings: a changed check (other arms) must not retrain them.
    priority: 100
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/check_reserve_counts.log",
    conda:
        ENV
    script:
        "../scripts/check_reserve_counts.py"


rule preprocess_reserve:
    input:
        cases="results/data/cases.csv",
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
        "logs/preprocess_reserve.log",
    benchmark:
        "benchmarks/preprocess_reserve.tsv"
    conda:
        ENV
    script:
        "../scripts/preprocess_reserve.py"
