"""Rule evaluate_classifier: one trained classifier on the untouched test split.

A binary classifier's decision threshold is chosen on the validation split (Youden's J, ``threshold`` in
metrics.json) and then applied to the test cases; the AUC needs none. A k-class one predicts its most probable class
and its AUC is the macro one-vs-rest AUC (``synthaug.evaluation``). Writes metrics.json (the contract keys, plus
auc_ci_low/auc_ci_high: a seeded bootstrap 95% interval over test cases; train_auc on the real training images),
predictions.csv, the confusion matrix (counts and row %, CSV and figure) and the ROC curve(s).
The probabilities are the kept model's, as train_classifier wrote them (predictions.npz): no Keras is started here.
"""

from synthaug.evaluation import display_names, evaluate_run, load_predictions
from synthaug.io import load_arrays, run_logged, write_csv, write_json
from synthaug.metrics import require_both_classes
from synthaug.plots.common import save_figure
from synthaug.plots.evaluation import confusion_matrix_figure, roc_figure


def main(smk):
    seed = int(smk.wildcards.seed)
    names = smk.params.sides  # the classes, in label order
    # Labels and case ids only: the images stay on disk (the probabilities are in predictions.npz).
    test = load_arrays(smk.input.test, required=("labels", "case_ids"), only_required=True)
    require_both_classes(test["labels"], smk.input.test, len(names))
    train = load_arrays(smk.input.train, required=("labels",), only_required=True)
    val = load_arrays(smk.input.val, required=("labels",), only_required=True)
    p = load_predictions(smk.input.predictions, test, smk.input.test, val, train)
    metrics, predictions, confusion = evaluate_run(
        test, train, p["p_test"], p["p_val"], val["labels"], p["p_train"],
        names=names, bootstrap_samples=smk.params.bootstrap_samples, seed=seed,
    )
    write_json(metrics, smk.output.metrics)
    write_csv(predictions, smk.output.predictions)
    write_csv(confusion, smk.output.confusion)

    title = f"{smk.wildcards.arm} / {smk.wildcards.model} / seed {seed}"
    shown = display_names(metrics)
    save_figure(confusion_matrix_figure(metrics["confusion_matrix"], title, shown), smk.output.confusion_figure)
    ci = (metrics["auc_ci_low"], metrics["auc_ci_high"])
    save_figure(roc_figure(test["labels"], p["p_test"], metrics["auc"], ci, title, shown), smk.output.roc)


if __name__ == "__main__":
    run_logged(main, snakemake)  # noqa: F821
