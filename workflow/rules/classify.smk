# One classifier per arm x model x seed, chosen on the validation split. Arm names (synthaug.arm_names) say what
# each trains on: e.g. baseline, augmented, synthetic-cgan-r0.5, more_real-r0.5, synthetic_only-cgan, baseline-f0.5;
# pretrain-cgan-r0.5 and pretrain_augmented-r0.5 pre-train first, then fine-tune (synthaug.pretrain).
# Each also writes its kept model's predictions (real training, validation and test images) for evaluate_classifier,
# so that evaluating starts no Keras; the test images are predicted once training has ended and choose nothing.


rule train_classifier:
    input:
        unpack(arm_inputs),
        unpack(model_inputs),
        test="results/data/test.npz",  # predicted for predictions.npz only
    output:
        model="results/classifiers/{arm}/{model}/seed{seed}/model.keras",
        history="results/classifiers/{arm}/{model}/seed{seed}/history.csv",
        predictions="results/classifiers/{arm}/{model}/seed{seed}/predictions.npz",
    params:
        classifier=classifier_settings,
        subset_seed=config["split"]["seed"],
        common_random_numbers=EXPERIMENT["common_random_numbers"],
        image_size=config["preprocess"]["image_size"],
        checkpoint_dir="results/classifiers/{arm}/{model}/seed{seed}/checkpoint",
        compute=config["compute"],
        sides=SIDES,  # the classes: two = a binary classifier, k > 2 = a k-way softmax
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
