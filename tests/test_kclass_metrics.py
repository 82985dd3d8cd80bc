"""k-class metrics agree with scikit-learn on random data; with two classes they are the binary ones."""

import numpy as np
import pytest
from sklearn import metrics as skm

from synthaug.metrics import (
    balanced_accuracy,
    binary_metrics,
    class_sensitivities,
    confusion_counts,
    macro_auc,
    multiclass_metrics,
    one_vs_rest_aucs,
    predicted_classes,
    roc_auc,
)


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _case(seed, k, n, ties=False):
    """Labels with every class present and probabilities that sum to 1 (as scikit-learn's multi-class AUC asks)."""
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    rng.shuffle(labels)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[labels]
    if ties:
        logits = np.round(logits)  # many tied probabilities
    return labels, _softmax(logits)


@pytest.mark.parametrize("k, n, ties", [(3, 60, False), (3, 60, True), (5, 200, False), (10, 300, False),
                                         (10, 300, True)])
def test_k_class_metrics_match_scikit_learn(k, n, ties):
    labels, probabilities = _case(k * n + ties, k, n, ties)
    predictions = predicted_classes(probabilities)
    assert np.array_equal(predictions, probabilities.argmax(axis=1))
    classes = list(range(k))
    assert macro_auc(labels, probabilities) == pytest.approx(
        skm.roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"), abs=1e-12)
    per_class = skm.roc_auc_score(labels, probabilities, multi_class="ovr", average=None)
    assert one_vs_rest_aucs(labels, probabilities) == pytest.approx(per_class, abs=1e-12)
    expected = skm.confusion_matrix(labels, predictions, labels=classes)
    assert np.array_equal(confusion_counts(labels, predictions, k), expected)
    assert class_sensitivities(labels, predictions, k) == pytest.approx(
        skm.recall_score(labels, predictions, labels=classes, average=None, zero_division=0), abs=1e-12)
    assert balanced_accuracy(labels, predictions, k) == pytest.approx(skm.balanced_accuracy_score(labels, predictions))
    m = multiclass_metrics(labels, probabilities)
    assert m["auc"] == pytest.approx(macro_auc(labels, probabilities))
    assert m["auc_per_class"] == pytest.approx(per_class, abs=1e-12)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(labels, predictions))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(labels, predictions))
    assert m["sensitivity_per_class"] == pytest.approx(class_sensitivities(labels, predictions, k).tolist())
    assert m["confusion_matrix"] == skm.confusion_matrix(labels, predictions, labels=classes).tolist()
    assert m["n_test"] == n


@pytest.mark.parametrize("seed", range(5))
def test_two_classes_are_the_binary_metrics(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 80)
    p = np.clip(0.5 * labels + rng.normal(0.25, 0.25, 80), 0, 1).round(2)  # with ties
    two = np.column_stack([1 - p, p])
    binary = roc_auc(labels, p)
    assert macro_auc(labels, two) == pytest.approx(binary, abs=1e-12)
    assert macro_auc(labels, p) == pytest.approx(binary, abs=1e-12)  # a vector is P(class 1)
    assert one_vs_rest_aucs(labels, p) == pytest.approx([binary, binary], abs=1e-12)
    assert binary == pytest.approx(skm.roc_auc_score(labels, p), abs=1e-12)
    # At the threshold 0.5 the binary confusion matrix is the argmax one (ties at 0.5 aside).
    keep = p != 0.5
    m = multiclass_metrics(labels[keep], two[keep])
    b = binary_metrics(labels[keep], p[keep])
    assert m["confusion_matrix"] == b["confusion_matrix"] and m["accuracy"] == pytest.approx(b["accuracy"])
    assert m["sensitivity_per_class"] == pytest.approx([b["specificity"], b["sensitivity"]])


def test_an_absent_class_has_no_auc_or_sensitivity_and_balanced_accuracy_skips_it():
    labels = np.array([0, 0, 1, 1, 0, 1])
    probabilities = _softmax(np.random.default_rng(0).normal(size=(6, 3)))
    aucs = one_vs_rest_aucs(labels, probabilities)
    assert np.isnan(aucs[2]) and np.isfinite(aucs[:2]).all()
    predictions = np.array([0, 2, 1, 1, 0, 0])
    sensitivity = class_sensitivities(labels, predictions, 3)
    assert sensitivity[:2] == pytest.approx([2 / 3, 2 / 3]) and np.isnan(sensitivity[2])
    with pytest.warns(UserWarning):  # scikit-learn warns about the predicted class absent from the labels
        expected = skm.balanced_accuracy_score(labels, predictions)
    assert balanced_accuracy(labels, predictions, 3) == pytest.approx(expected)
