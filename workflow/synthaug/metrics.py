"""Classification metrics of a binary classifier, malignant (label 1) being the positive class.

The AUC is threshold-free; every other metric uses the predicted class ``probability >= threshold``.
Degenerate cases are defined, never cryptic: with one class only the AUC is NaN (and sensitivity or
specificity NaN for the missing class); with no positive prediction, precision and F1 are 0 (scikit-learn's
``zero_division=0``). :func:`require_both_classes` lets a stage refuse such a split with a clear message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .constants import CLASS_NAMES
from .errors import DataError

# Probabilities are clipped like Keras' binary cross-entropy so that log(0) never happens.
EPSILON = 1e-7


def confusion_counts(labels, predictions) -> np.ndarray:
    """``[[tn, fp], [fn, tp]]``: rows the true class, columns the predicted class (benign, malignant)."""
    labels, predictions = np.asarray(labels, int), np.asarray(predictions, int)
    return np.array([[np.sum((labels == t) & (predictions == p)) for p in (0, 1)] for t in (0, 1)])


def roc_auc(labels, probabilities) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties count half); NaN when only one class is present."""
    labels = np.asarray(labels)
    n_pos, n_neg = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(probabilities)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_metrics(labels, probabilities, threshold: float = 0.5) -> dict:
    """Accuracy, AUC, sensitivity, specificity, precision, F1, n_test and the confusion matrix."""
    labels = np.asarray(labels, int)
    predictions = (np.asarray(probabilities) >= threshold).astype(int)
    (tn, fp), (fn, tp) = confusion_counts(labels, predictions)
    return {
        "accuracy": _ratio(tp + tn, len(labels)),
        "auc": roc_auc(labels, probabilities),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": float(tp / (tp + fp)) if tp + fp else 0.0,
        "f1": float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0,
        "n_test": int(len(labels)),
        "confusion_matrix": [[int(tn), int(fp)], [int(fn), int(tp)]],
    }


def youden_threshold(labels, probabilities) -> float:
    """The threshold that maximises Youden's J = sensitivity + specificity - 1 on these cases (the validation split).

    Candidates are the observed probabilities (a case is positive when ``probability >= threshold``); among equal J
    the one nearest 0.5 wins, so a classifier that separates nothing keeps the usual 0.5. NaN-free: with one class
    present the threshold is 0.5.
    """
    labels, probabilities = np.asarray(labels, int), np.asarray(probabilities, float)
    n_pos, n_neg = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    if n_pos == 0 or n_neg == 0:
        return 0.5
    candidates = np.unique(probabilities)
    order = np.sort(probabilities[labels == 1]), np.sort(probabilities[labels == 0])
    sensitivity = 1 - np.searchsorted(order[0], candidates, side="left") / n_pos  # share of positives >= candidate
    specificity = np.searchsorted(order[1], candidates, side="left") / n_neg  # share of negatives < candidate
    j = sensitivity + specificity - 1
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def accuracy(labels, probabilities, threshold: float = 0.5) -> float:
    return _ratio(np.sum((np.asarray(probabilities) >= threshold) == (np.asarray(labels) == 1)), len(labels))


def binary_cross_entropy(labels, probabilities) -> float:
    p = np.clip(np.asarray(probabilities, float), EPSILON, 1 - EPSILON)
    y = np.asarray(labels, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def require_both_classes(labels, path) -> None:
    """Stop with a message naming ``path`` when it holds a single class (AUC and sensitivity undefined)."""
    present = set(np.unique(np.asarray(labels)).tolist())
    if present != {0, 1}:
        raise DataError(
            path,
            f"holds only class(es) {sorted(present)}; AUC, sensitivity and specificity need both benign and "
            "malignant cases. Use more cases or another split (split.test_fraction / split.val_fraction).",
        )


def predictions_table(case_ids, labels, probabilities, threshold: float = 0.5) -> pd.DataFrame:
    probabilities = np.asarray(probabilities, float)
    return pd.DataFrame(
        {
            "case_id": np.asarray(case_ids),
            "label": np.asarray(labels, int),
            "probability": probabilities,
            "prediction": (probabilities >= threshold).astype(int),
        }
    )


def confusion_table(matrix) -> pd.DataFrame:
    """Counts and row percentages (% of each true class), one row per true class."""
    matrix = np.asarray(matrix)
    percent = 100 * matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    table = pd.DataFrame({"true_class": list(CLASS_NAMES)})
    for j, name in enumerate(CLASS_NAMES):
        table[f"predicted_{name}"] = matrix[:, j]
    for j, name in enumerate(CLASS_NAMES):
        table[f"percent_predicted_{name}"] = percent[:, j].round(2)
    return table


def _ratio(num, den) -> float:
    return float(num / den) if den else float("nan")
