"""Intervals and paired tests agree with scipy; the bootstrap interval of an AUC is seeded and sensible."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from synthaug.metrics import roc_auc
from synthaug.stats import bootstrap_auc_ci, paired_comparison, t_interval


def test_t_interval_matches_scipy_and_contains_the_mean():
    values = np.array([0.71, 0.74, 0.69, 0.77])
    mean, low, high = t_interval(values)
    expected = sps.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=sps.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx(expected)
    assert low < mean < high


def test_t_interval_of_one_value_is_undefined():
    mean, low, high = t_interval([0.7])
    assert mean == 0.7 and math.isnan(low) and math.isnan(high)


def test_paired_comparison_matches_ttest_rel():
    treatment = np.array([0.78, 0.75, 0.80, 0.74])
    control = np.array([0.74, 0.76, 0.75, 0.70])
    result = paired_comparison(treatment, control)
    assert result["mean_difference"] == pytest.approx(np.mean(treatment - control))
    assert result["p_value"] == pytest.approx(sps.ttest_rel(treatment, control).pvalue)
    assert result["ci_low"] < result["mean_difference"] < result["ci_high"]
    assert result["n_pairs"] == 4
    assert math.isnan(paired_comparison([0.8], [0.7])["p_value"])


def test_bootstrap_interval_is_seeded_and_brackets_the_auc():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    probs = np.clip(0.5 + 0.3 * (labels - 0.5) + rng.normal(0, 0.3, 300), 0, 1)
    auc = roc_auc(labels, probs)
    low, high = bootstrap_auc_ci(labels, probs, n_samples=500, seed=1)
    assert low < auc < high
    assert 0.02 < high - low < 0.2
    assert bootstrap_auc_ci(labels, probs, n_samples=500, seed=1) == (low, high)
