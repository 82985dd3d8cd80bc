"""Metrics agree with scikit-learn; the confusion matrix is [[tn, fp], [fn, tp]]; degenerate inputs are defined."""

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from synthaug.errors import DataError
from synthaug.metrics import (
    binary_cross_entropy,
    binary_metrics,
    confusion_table,
    predictions_table,
    require_both_classes,
    roc_auc,
    youden_threshold,
)

LABELS = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0])
PROBS = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.3, 0.7, 0.55, 0.45, 0.5])


def test_metrics_match_scikit_learn():
    m = binary_metrics(LABELS, PROBS)
    pred = (PROBS >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(LABELS, pred))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(LABELS, PROBS))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(LABELS, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(LABELS, pred, pos_label=0))
    assert m["precision"] == pytest.approx(skm.precision_score(LABELS, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(LABELS, pred))
    assert m["confusion_matrix"] == skm.confusion_matrix(LABELS, pred).tolist()
    assert m["n_test"] == len(LABELS)


def test_confusion_matrix_orientation():
    # 3 true negatives, 1 false positive, 2 false negatives, 4 true positives.
    labels = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    probs = [0.1, 0.2, 0.3, 0.9, 0.1, 0.2, 0.8, 0.9, 0.7, 0.6]
    assert binary_metrics(labels, probs)["confusion_matrix"] == [[3, 1], [2, 4]]
    table = confusion_table([[3, 1], [2, 4]])
    assert table["true_class"].tolist() == ["benign", "malignant"]
    assert table["predicted_malignant"].tolist() == [1, 4]
    assert table["percent_predicted_benign"].tolist() == [75.0, 33.33]


def test_auc_handles_ties_like_scikit_learn():
    labels = np.array([0, 1, 0, 1, 1, 0])
    probs = np.array([0.5, 0.5, 0.2, 0.9, 0.5, 0.5])
    assert roc_auc(labels, probs) == pytest.approx(skm.roc_auc_score(labels, probs))


def test_one_class_gives_nan_auc_and_a_clear_error():
    m = binary_metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(m["auc"]) and math.isnan(m["specificity"])
    assert m["sensitivity"] == pytest.approx(2 / 3)
    with pytest.raises(DataError, match="test.npz.*only class"):
        require_both_classes(np.array([1, 1, 1]), "results/data/test.npz")


def test_no_positive_prediction_gives_zero_precision_like_scikit_learn():
    m = binary_metrics([0, 1, 1], [0.1, 0.2, 0.3])
    assert m["precision"] == 0.0 and m["f1"] == 0.0
    assert skm.precision_score([0, 1, 1], [0, 0, 0], zero_division=0) == 0.0


def test_cross_entropy_matches_scikit_learn_and_predictions_table():
    assert binary_cross_entropy(LABELS, PROBS) == pytest.approx(skm.log_loss(LABELS, PROBS))
    table = predictions_table([f"c{i}" for i in range(len(LABELS))], LABELS, PROBS)
    assert list(table.columns) == ["case_id", "label", "probability", "prediction"]
    assert table["prediction"].tolist() == (PROBS >= 0.5).astype(int).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_youden_threshold_maximises_sensitivity_plus_specificity_like_sklearns_roc(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 80)
    probs = np.round(np.clip(0.5 + 0.2 * (labels - 0.5) + rng.normal(0, 0.2, 80), 0, 1), 2)  # with ties
    threshold = youden_threshold(labels, probs)
    fpr, tpr, thresholds = skm.roc_curve(labels, probs)
    best = np.max(tpr - fpr)
    metrics = binary_metrics(labels, probs, threshold)
    assert metrics["sensitivity"] + metrics["specificity"] - 1 == pytest.approx(best)
    assert threshold in set(probs)


def test_youden_threshold_of_a_classifier_that_separates_nothing_is_one_half_or_nearest():
    assert youden_threshold([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert youden_threshold([1, 1, 1], [0.2, 0.4, 0.9]) == 0.5  # one class: no threshold to choose
    assert youden_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) in (0.8,)  # the perfect split, nearest 0.5


def test_midranks_and_roc_points_agree_with_scipy_and_scikit_learn_on_ties():
    from scipy.stats import rankdata
    from sklearn.metrics import auc, roc_curve

    from synthaug.metrics import midranks, roc_points

    rng = np.random.default_rng(7)
    for _ in range(100):
        n = int(rng.integers(2, 60))
        scores = rng.integers(0, 6, n) / 5.0  # many ties
        labels = rng.integers(0, 2, n)
        np.testing.assert_allclose(midranks(scores), rankdata(scores))
        if labels.min() == labels.max():
            continue
        fpr, tpr = roc_points(labels, scores)
        assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
        sk_fpr, sk_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        np.testing.assert_allclose(fpr, sk_fpr)
        np.testing.assert_allclose(tpr, sk_tpr)
        assert auc(fpr, tpr) == pytest.approx(skm.roc_auc_score(labels, scores))


def test_an_evaluation_job_imports_neither_scipy_stats_nor_scikit_learn():
    """Each evaluation job starts a Python process; scipy.stats and scikit-learn cost it over two CPU seconds."""
    import subprocess
    import sys

    code = ("import sys, synthaug.evaluation, synthaug.plots.evaluation, synthaug.io, synthaug.metrics; "
            "print(sorted(m for m in ('scipy.stats', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
