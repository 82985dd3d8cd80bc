"""Classification metrics of a binary classifier, malignant (label 1) being the positive class, and of a k-class one.

The AUC is threshold-free; every other metric uses the predicted class ``probability >= threshold``.
Degenerate cases are defined, never cryptic: with one class only the AUC is NaN (and sensitivity or
specificity NaN for the missing class); with no positive prediction, precision and F1 are 0 (scikit-learn's
``zero_division=0``). :func:`require_both_classes` lets a stage refuse such a split with a clear message.

A k-class classifier gives ``(n_cases, k)`` probabilities, labels ``0 .. k - 1``; its predicted class is the most
probable one (:func:`predicted_classes`). Its verdict metric is the macro one-vs-rest AUC (:func:`macro_auc`: the
mean over classes of the AUC of "this class against the rest" by that class's probability); with two classes it is
the binary AUC. :func:`multiclass_metrics` gives it with the per-class AUCs, accuracy, balanced accuracy, per-class
sensitivity and the k x k confusion matrix. A class absent from the cases has NaN AUC and sensitivity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .constants import CLASS_NAMES
from .errors import DataError

# Probabilities are clipped like Keras' binary cross-entropy so that log(0) never happens.
EPSILON = 1e-7


def confusion_counts(labels, predictions, n_classes: int = 2) -> np.ndarray:
    """The ``n_classes x n_classes`` counts, rows the true class, columns the predicted class; with two classes
    ``[[tn, fp], [fn, tp]]`` (benign, malignant). Labels and predictions are ``0 .. n_classes - 1``."""
    labels, predictions = np.asarray(labels, int).ravel(), np.asarray(predictions, int).ravel()
    counts = np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def midranks(values) -> np.ndarray:
    """Ranks 1..n of ``values`` with ties given their average rank (scipy.stats.rankdata's default), in numpy:
    importing scipy.stats costs an evaluation job more than a second of CPU."""
    values = np.asarray(values).ravel()
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))  # first position of each run of equal values
    bounds = np.append(np.flatnonzero(starts), len(values))
    average = (bounds[:-1] + bounds[1:] + 1) / 2  # mean of the 1-based ranks start+1 .. end of each run
    ranks = np.empty(len(values))
    ranks[order] = average[np.cumsum(starts) - 1]
    return ranks


def roc_auc(labels, probabilities) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties count half); NaN when only one class is present."""
    labels = np.asarray(labels)
    n_pos, n_neg = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = midranks(probabilities)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def predicted_classes(probabilities) -> np.ndarray:
    """The most probable class of each case (the first of equal ones) from ``(n_cases, k)`` probabilities."""
    return np.argmax(np.asarray(probabilities, float), axis=-1)


def _class_probabilities(probabilities) -> np.ndarray:
    """``(n_cases, k)`` probabilities; a vector is a binary classifier's P(class 1), i.e. ``[1 - p, p]``."""
    probabilities = np.asarray(probabilities, float)
    return np.column_stack([1 - probabilities, probabilities]) if probabilities.ndim == 1 else probabilities


def one_vs_rest_aucs(labels, probabilities) -> np.ndarray:
    """Per class ``j``: the AUC of class ``j`` against all the others, scored by ``probabilities[:, j]`` (NaN when
    class ``j`` is absent or alone). ``probabilities`` is ``(n_cases, k)`` (or a binary classifier's P(class 1))."""
    labels, probabilities = np.asarray(labels, int), _class_probabilities(probabilities)
    return np.array([roc_auc((labels == j).astype(int), probabilities[:, j]) for j in range(probabilities.shape[1])])


def macro_auc(labels, probabilities) -> float:
    """The macro one-vs-rest AUC, the k-class verdict metric: the unweighted mean of :func:`one_vs_rest_aucs`
    (scikit-learn's ``roc_auc_score(multi_class="ovr", average="macro")``). A binary classifier's P(class 1) gives
    its AUC (both classes' one-vs-rest AUCs are that AUC)."""
    return float(np.mean(one_vs_rest_aucs(labels, probabilities)))


def class_sensitivities(labels, predictions, n_classes: int) -> np.ndarray:
    """Per class: the share of its cases predicted as it (recall; NaN for a class absent from ``labels``)."""
    matrix = confusion_counts(labels, predictions, n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diagonal(matrix) / matrix.sum(axis=1)


def balanced_accuracy(labels, predictions, n_classes: int) -> float:
    """The mean of :func:`class_sensitivities` over the classes present in ``labels``."""
    return float(np.nanmean(class_sensitivities(labels, predictions, n_classes)))


def multiclass_metrics(labels, probabilities) -> dict:
    """A k-class classifier's test metrics from ``(n_cases, k)`` probabilities, the predicted class the most
    probable: macro one-vs-rest AUC (``auc``, the verdict metric), per-class AUC, accuracy, balanced accuracy,
    per-class sensitivity, ``n_test`` and the ``k x k`` confusion matrix (rows true, columns predicted)."""
    labels, probabilities = np.asarray(labels, int), _class_probabilities(probabilities)
    k = probabilities.shape[1]
    predictions = predicted_classes(probabilities)
    return {
        "auc": macro_auc(labels, probabilities),
        "auc_per_class": one_vs_rest_aucs(labels, probabilities).tolist(),
        "accuracy": _ratio(np.sum(predictions == labels), len(labels)),
        "balanced_accuracy": balanced_accuracy(labels, predictions, k),
        "sensitivity_per_class": class_sensitivities(labels, predictions, k).tolist(),
        "n_test": int(len(labels)),
        "confusion_matrix": confusion_counts(labels, predictions, k).tolist(),
    }


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


def roc_points(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """The empirical ROC curve ``(fpr, tpr)`` from (0, 0) to (1, 1), one point per distinct score (a case is
    positive when its score is >= the threshold); ``labels`` are True/1 for the positive class. In numpy: the
    evaluation job draws it without importing scikit-learn (over a second of CPU per job)."""
    labels, scores = np.asarray(labels).astype(bool).ravel(), np.asarray(scores, float).ravel()
    thresholds = np.unique(scores)[::-1]
    positives, negatives = np.sort(scores[labels]), np.sort(scores[~labels])
    tpr = 1 - np.searchsorted(positives, thresholds, side="left") / max(len(positives), 1)
    fpr = 1 - np.searchsorted(negatives, thresholds, side="left") / max(len(negatives), 1)
    return np.concatenate(([0.0], fpr)), np.concatenate(([0.0], tpr))


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
    candidates = np.unique(probabilities)[::-1]  # roc_points' thresholds, in its order
    fpr, tpr = roc_points(labels, probabilities)
    j = tpr[1:] - fpr[1:]  # sensitivity + specificity - 1 at each candidate (the first point is "none positive")
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def accuracy(labels, probabilities, threshold: float = 0.5) -> float:
    return _ratio(np.sum((np.asarray(probabilities) >= threshold) == (np.asarray(labels) == 1)), len(labels))


def binary_cross_entropy(labels, probabilities) -> float:
    p = np.clip(np.asarray(probabilities, float), EPSILON, 1 - EPSILON)
    y = np.asarray(labels, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def categorical_cross_entropy(labels, probabilities) -> float:
    """Mean -log P(true class) of ``(n_cases, k)`` probabilities (clipped like Keras)."""
    p = np.clip(np.asarray(probabilities, float), EPSILON, 1 - EPSILON)
    labels = np.asarray(labels, int)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def validation_scores(labels, probabilities) -> dict:
    """Loss, accuracy and AUC of a classifier's predictions (the epoch's validation scores): a binary one's
    P(class 1) (cross-entropy, accuracy at 0.5, AUC), or a k-class one's ``(n_cases, k)`` probabilities (categorical
    cross-entropy, accuracy of the most probable class, macro one-vs-rest AUC)."""
    probabilities = np.asarray(probabilities, float)
    if probabilities.ndim == 1:
        return {"loss": binary_cross_entropy(labels, probabilities), "accuracy": accuracy(labels, probabilities),
                "auc": roc_auc(labels, probabilities)}
    labels = np.asarray(labels, int)
    return {"loss": categorical_cross_entropy(labels, probabilities),
            "accuracy": _ratio(np.sum(predicted_classes(probabilities) == labels), len(labels)),
            "auc": macro_auc(labels, probabilities)}


def require_both_classes(labels, path, n_classes: int = 2) -> None:
    """Stop with a message naming ``path`` when it lacks a class (AUC and sensitivity undefined): both for a binary
    classifier, all ``n_classes`` for a k-class one."""
    present = set(np.unique(np.asarray(labels)).tolist())
    if present != set(range(n_classes)):
        needed = "both benign and malignant cases" if n_classes == 2 else f"cases of all {n_classes} classes"
        raise DataError(
            path,
            f"holds only class(es) {sorted(present)}; AUC, sensitivity and specificity need {needed}. Use more "
            "cases or another split (split.test_fraction / split.val_fraction).",
        )


def probability_columns(names) -> list[str]:
    """A k-class predictions table's probability columns, one per class in label order: ``probability_<name>``."""
    return [f"probability_{name}" for name in names]


def predictions_table(case_ids, labels, probabilities, threshold: float = 0.5, names=None) -> pd.DataFrame:
    """One row per test case: ``case_id, label``, then a binary classifier's ``probability`` (P(class 1)) and its
    ``prediction`` at ``threshold``; a k-class one's ``(n_cases, k)`` probabilities give one column per class
    (:func:`probability_columns` of ``names``, its classes' names) and the most probable class as ``prediction``."""
    probabilities = np.asarray(probabilities, float)
    if probabilities.ndim == 2:
        names = list(names) if names is not None else [str(j) for j in range(probabilities.shape[1])]
        table = pd.DataFrame({"case_id": np.asarray(case_ids), "label": np.asarray(labels, int)})
        for column, values in zip(probability_columns(names), probabilities.T):
            table[column] = values
        table["prediction"] = predicted_classes(probabilities)
        return table
    return pd.DataFrame(
        {
            "case_id": np.asarray(case_ids),
            "label": np.asarray(labels, int),
            "probability": probabilities,
            "prediction": (probabilities >= threshold).astype(int),
        }
    )


def confusion_table(matrix, names=CLASS_NAMES) -> pd.DataFrame:
    """Counts and row percentages (% of each true class), one row per true class (``names``, in label order)."""
    matrix = np.asarray(matrix)
    percent = 100 * matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    table = pd.DataFrame({"true_class": list(names)})
    for j, name in enumerate(names):
        table[f"predicted_{name}"] = matrix[:, j]
    for j, name in enumerate(names):
        table[f"percent_predicted_{name}"] = percent[:, j].round(2)
    return table


def _ratio(num, den) -> float:
    return float(num / den) if den else float("nan")
