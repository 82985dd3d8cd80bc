# Optuna tuning of the simple CNN on the validation split: tune.workers jobs add trials to one study kept in a
# file journal under results/tune/ (not a Snakemake output, so reruns continue it), then the best parameters.


rule tune_classifier:
    input:
        train="results/data/train.npz",
        val="results/data/val.npz",
    output:
        trials="results/tune/{model}/workers/worker{worker}.csv",
    params:
        tune=config["tune"],
        # only what trials use, so that other classifier settings do not rerun the study's workers
        classifier={key: config["classifier"][key] for key in ("learning_rate", "batch_size", "patience")},
        journal=tune_journal,
        compute=config["compute"],
        sides=SIDES,  # the classes: two = a binary classifier, k > 2 = a k-way softmax
    threads: config["compute"]["threads"]
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=1,
    log:
        "logs/tune_classifier/{model}/worker{worker}.log",
    benchmark:
        "benchmarks/tune_classifier/{model}/worker{worker}.tsv"
    conda:
        ENV
    script:
        "../scripts/tune_classifier.py"


rule gather_tuning:
    input:
        workers=tune_workers,
    output:
        best_params="results/tune/{model}/best_params.json",
        trials="results/tune/{model}/trials.csv",
        history=report(
            "results/tune/{model}/optimization_history.png",
            caption="../report/tune.rst",
            category="6. Tuning",
            labels={"model": "{model}", "figure": "optimization history"},
        ),
        importances=report(
            "results/tune/{model}/param_importances.png",
            caption="../report/tune.rst",
            category="6. Tuning",
            labels={"model": "{model}", "figure": "parameter importances"},
        ),
    params:
        journal=tune_journal,
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/gather_tuning/{model}.log",
    conda:
        ENV
    script:
        "../scripts/gather_tuning.py"
