"""Honest uncertainty: a bootstrap interval for one run's AUC, t-intervals over seeds and paired comparisons.

Seeds are the replicates of an experiment: an arm's mean AUC over seeds gets a Student-t interval, and an arm
is compared with the baseline of the same model by the paired difference over shared seeds (paired t-test).
With a single seed there is nothing to estimate the spread from, and the intervals and p-values are NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from .metrics import roc_auc

CONFIDENCE = 0.95


def bootstrap_auc_ci(labels, probabilities, *, n_samples: int, seed: int, confidence: float = CONFIDENCE):
    """Percentile bootstrap interval of the AUC, resampling test cases with replacement.

    Resamples that happen to hold one class only are dropped (they have no AUC). Returns ``(low, high)``.
    """
    labels, probabilities = np.asarray(labels), np.asarray(probabilities, float)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(labels), size=(n_samples, len(labels)))
    aucs = np.array([roc_auc(labels[i], probabilities[i]) for i in index])
    aucs = aucs[np.isfinite(aucs)]
    if aucs.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(aucs, [alpha, 1 - alpha])
    return float(low), float(high)


def t_interval(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t interval of the mean of ``values`` (NaN bounds for < 2 values)."""
    values = np.asarray(values, float)
    mean = float(np.mean(values))
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = sps.t.ppf((1 + confidence) / 2, values.size - 1) * np.std(values, ddof=1) / np.sqrt(values.size)
    return mean, float(mean - half), float(mean + half)


def paired_comparison(treatment, control, confidence: float = CONFIDENCE) -> dict:
    """Mean of ``treatment - control`` over paired replicates, its t-interval and the paired t-test p-value."""
    treatment, control = np.asarray(treatment, float), np.asarray(control, float)
    mean, low, high = t_interval(treatment - control, confidence)
    p_value = float(sps.ttest_rel(treatment, control).pvalue) if treatment.size >= 2 else float("nan")
    return {"n_pairs": int(treatment.size), "mean_difference": mean, "ci_low": low, "ci_high": high, "p_value": p_value}
