"""Rule evaluate_classifier: one trained classifier on the untouched test split.

The decision threshold is chosen on the validation split (Youden's J, ``threshold`` in metrics.json) and then
applied to the test cases; the AUC needs none. Writes metrics.json (the contract keys, plus auc_ci_low/auc_ci_high:
a seeded bootstrap 95% interval over test cases; train_auc on the real training images), predictions.csv, the
confusion matrix (counts and row %, CSV and figure) and the ROC curve.
"""

from synthaug.backends import use_backend

use_backend(snakemake.params.compute)  # noqa: F821  before anything imports Keras

import keras

from synthaug.backends import configure_from
from synthaug.io import load_arrays, run_logged, write_csv, write_json
from synthaug.metrics import (
    accuracy,
    binary_metrics,
    confusion_table,
    predictions_table,
    require_both_classes,
    roc_auc,
    youden_threshold,
)
from synthaug.plots.common import save_figure
from synthaug.plots.evaluation import confusion_matrix_figure, roc_figure
from synthaug.stats import bootstrap_auc_ci
from synthaug.train import predict


def main(smk):
    seed = int(smk.wildcards.seed)
    configure_from(smk.params.compute, seed, threads=smk.threads)
    test = load_arrays(smk.input.test, required=("images", "labels", "case_ids"))
    require_both_classes(test["labels"], smk.input.test)
    train = load_arrays(smk.input.train, required=("images", "labels"))
    val = load_arrays(smk.input.val, required=("images", "labels"))
    model = keras.models.load_model(smk.input.model, compile=False)  # predictions only
    p_test = predict(model, test["images"])
    p_train = predict(model, train["images"])
    threshold = youden_threshold(val["labels"], predict(model, val["images"]))

    metrics = binary_metrics(test["labels"], p_test, threshold)
    metrics["threshold"] = threshold
    metrics["train_accuracy"] = accuracy(train["labels"], p_train, threshold)
    metrics["train_auc"] = roc_auc(train["labels"], p_train)  # for the overfitting gap
    low, high = bootstrap_auc_ci(test["labels"], p_test, n_samples=smk.params.bootstrap_samples,
                                 seed=seed)
    metrics.update(auc_ci_low=low, auc_ci_high=high)
    write_json(metrics, smk.output.metrics)
    write_csv(predictions_table(test["case_ids"], test["labels"], p_test, threshold), smk.output.predictions)
    write_csv(confusion_table(metrics["confusion_matrix"]), smk.output.confusion)

    title = f"{smk.wildcards.arm} / {smk.wildcards.model} / seed {seed}"
    save_figure(confusion_matrix_figure(metrics["confusion_matrix"], title), smk.output.confusion_figure)
    save_figure(roc_figure(test["labels"], p_test, metrics["auc"], (low, high), title), smk.output.roc)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
