"""Rule tune_classifier: one worker of the Optuna study of a model, adding its share of tune.n_trials.

Trials train on the training split and are scored on the validation split only. The study is the journal
``params.journal`` that every worker (and every rerun) shares; the output lists the trials this worker finished.
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

from synthaug.io import load_arrays, run_logged, write_csv
from synthaug.metrics import require_both_classes
from synthaug.tune import run_worker

BUNDLE = ("images", "labels")


def main(smk):
    train = load_arrays(smk.input.train, required=BUNDLE)
    val = load_arrays(smk.input.val, required=BUNDLE)
    n_classes = len(smk.params.sides)  # 2: a sigmoid unit; k > 2: a k-way softmax
    require_both_classes(val["labels"], smk.input.val, n_classes)
    trials = run_worker(
        (train["images"], train["labels"]),
        (val["images"], val["labels"]),
        settings=smk.params.tune,
        classifier=smk.params.classifier,
        model=smk.wildcards.model,
        worker=int(smk.wildcards.worker),
        journal=smk.params.journal,
        threads=smk.threads,
        compute=smk.params.compute,
        n_classes=n_classes,
    )
    write_csv(trials, smk.output.trials)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
