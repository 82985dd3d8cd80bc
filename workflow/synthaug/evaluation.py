"""One trained classifier's test metrics, predictions and confusion table, binary or k-class.

Binary (P(class 1) per case): the decision threshold is chosen on the validation split (Youden's J, ``threshold``
in metrics.json) and then applied to the test cases; the AUC needs none. metrics.json holds the contract keys
(:func:`synthaug.metrics.binary_metrics`), ``train_accuracy`` and ``train_auc`` on the real training images, and
``auc_ci_low``/``auc_ci_high``: a seeded bootstrap 95% interval over test cases.

k classes (``(n_cases, k)`` probabilities): the predicted class is the most probable one (no threshold); metrics.json
holds :func:`synthaug.metrics.multiclass_metrics` (``auc`` = the macro one-vs-rest AUC, the verdict metric,
``auc_per_class``, ``accuracy``, ``balanced_accuracy``, ``sensitivity_per_class``, the ``k x k`` confusion matrix),
``classes`` (the names, in label order: tables and figures use them), ``train_accuracy``, ``train_auc`` and the
bootstrap interval of the macro AUC. The predictions table has one probability column per class.

The probabilities come from predictions.npz, which rule train_classifier writes with the kept model
(:func:`synthaug.train.kept_predictions`): evaluating starts no Keras, and nothing here imports it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .constants import CLASS_NAMES
from .errors import DataError
from .io import load_arrays
from .metrics import (
    accuracy,
    binary_metrics,
    confusion_table,
    macro_auc,
    multiclass_metrics,
    predicted_classes,
    predictions_table,
    roc_auc,
    youden_threshold,
)
from .split import report_names
from .stats import bootstrap_auc_ci

PREDICTIONS = ("p_train", "p_val", "p_test", "case_ids")  # predictions.npz: synthaug.train.kept_predictions


def load_predictions(path, test: dict, test_path, val: dict, train: dict) -> dict[str, np.ndarray]:
    """The kept model's ``p_train``, ``p_val`` and ``p_test`` from ``path`` (predictions.npz), checked against the
    bundles they belong to: the test cases of ``test`` (read from ``test_path``), one probability per validation and
    per real training image. A mismatch means the file was written for other data (e.g. an older split)."""
    predictions = load_arrays(path, required=PREDICTIONS)
    if not np.array_equal(predictions["case_ids"].astype(str), np.asarray(test["case_ids"], str)):
        raise DataError(path, f"its test cases are not those of {test_path}: written for other data (an older "
                        "split?); delete it and rerun, which trains this classifier again")
    for part, bundle in (("val", val), ("train", train)):
        n, expected = len(predictions[f"p_{part}"]), len(bundle["labels"])
        if n != expected:
            raise DataError(path, f"{n} {part} predictions for {expected} {part} images: written for other data; "
                            "delete it and rerun, which trains this classifier again")
    return {k: predictions[k] for k in PREDICTIONS[:3]}


def evaluate_run(test: dict, train: dict, p_test, p_val, val_labels, p_train, *, names, bootstrap_samples: int,
                 seed: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """``(metrics, predictions table, confusion table)`` of one run from its probabilities on the test, validation
    and training images (``test``: labels and case_ids; ``train``: labels); ``names``: the classes' names."""
    p_test, p_train = np.asarray(p_test), np.asarray(p_train)
    if p_test.ndim == 1:
        threshold = youden_threshold(val_labels, p_val)
        metrics = binary_metrics(test["labels"], p_test, threshold)
        metrics["threshold"] = threshold
        metrics["train_accuracy"] = accuracy(train["labels"], p_train, threshold)
        metrics["train_auc"] = roc_auc(train["labels"], p_train)  # for the overfitting gap
        predictions = predictions_table(test["case_ids"], test["labels"], p_test, threshold)
    else:
        metrics = multiclass_metrics(test["labels"], p_test)
        metrics["classes"] = list(names)
        train_labels = np.asarray(train["labels"], int)
        metrics["train_accuracy"] = float(np.mean(predicted_classes(p_train) == train_labels))
        metrics["train_auc"] = macro_auc(train_labels, p_train)
        predictions = predictions_table(test["case_ids"], test["labels"], p_test, names=names)
    low, high = bootstrap_auc_ci(test["labels"], p_test, n_samples=bootstrap_samples, seed=seed)
    metrics.update(auc_ci_low=low, auc_ci_high=high)
    return metrics, predictions, confusion_table(metrics["confusion_matrix"], display_names(metrics))


def display_names(metrics: dict) -> tuple[str, ...]:
    """What tables and figures call the classes: a k-class run's ``classes``; a binary run's benign and malignant
    (as they always have, whatever the dataset: :func:`synthaug.split.report_names`)."""
    return report_names(metrics.get("classes", CLASS_NAMES))
