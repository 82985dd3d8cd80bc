# Evaluation on the untouched test split: metrics, predictions, confusion matrix and ROC curve per run, from the
# kept model's predictions that train_classifier wrote (no Keras here: one TensorFlow start less per run).


rule evaluate_classifier:
    input:
        predictions="results/classifiers/{arm}/{model}/seed{seed}/predictions.npz",
        train="results/data/train.npz",
        val="results/data/val.npz",
        test="results/data/test.npz",
    output:
        metrics="results/evaluation/{arm}/{model}/seed{seed}/metrics.json",
        predictions="results/evaluation/{arm}/{model}/seed{seed}/predictions.csv",
        confusion="results/evaluation/{arm}/{model}/seed{seed}/confusion_matrix.csv",
        confusion_figure=report(
            "results/evaluation/{arm}/{model}/seed{seed}/confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category="4. Evaluation",
            subcategory="confusion matrices",
            labels={"arm": "{arm}", "model": "{model}", "seed": "{seed}"},
        ),
        roc=report(
            "results/evaluation/{arm}/{model}/seed{seed}/roc.png",
            caption="../report/roc.rst",
            category="4. Evaluation",
            subcategory="ROC curves",
            labels={"arm": "{arm}", "model": "{model}", "seed": "{seed}"},
        ),
    params:
        bootstrap_samples=config["experiment"]["bootstrap_samples"],
        sides=SIDES,  # the classes, in label order: two = binary, k > 2 = macro one-vs-rest AUC
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    log:
        "logs/evaluate_classifier/{arm}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/evaluate_classifier/{arm}/{model}/seed{seed}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_classifier.py"
