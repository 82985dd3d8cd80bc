# One classifier per arm x model x seed, chosen on the validation split.


rule train_classifier:
    input:
        unpack(arm_inputs),
    output:
        model="results/classifiers/{arm}/{model}/seed{seed}/model.keras",
        history="results/classifiers/{arm}/{model}/seed{seed}/history.csv",
    params:
        classifier=config["classifier"],
        image_size=config["preprocess"]["image_size"],
        checkpoint_dir="results/classifiers/{arm}/{model}/seed{seed}/checkpoint",
        threads=config["compute"]["threads"],
        compute=config["compute"],
    threads: config["compute"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    log:
        "logs/train_classifier/{arm}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/train_classifier/{arm}/{model}/seed{seed}.tsv"
    conda:
        ENV
    script:
        "../scripts/train_classifier.py"
