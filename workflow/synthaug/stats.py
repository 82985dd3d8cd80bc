"""Honest uncertainty: bootstrap and t-intervals, paired tests over seeds, DeLong, McNemar, Holm and verdicts.

Seeds are the replicates of an experiment: an arm's mean AUC over seeds gets a Student-t interval, and an arm
is compared with the baseline of the same model by the paired difference over shared seeds (paired t-test).
With a single seed there is nothing to estimate the spread from, and the intervals and p-values are NaN.
"""

from __future__ import annotations

import math

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


# ---------------------------------------------------------------------------------------------------------------
# Test-set variance: DeLong's test of correlated AUCs and the exact McNemar test, on the same test cases.
# Training variance: the spread of paired differences over seeds. Both combine into one verdict per arm.
# ---------------------------------------------------------------------------------------------------------------

ALPHA = 0.05
POWER = 0.8
HELPS, NO_DIFFERENCE, HURTS = "helps", "no detectable difference", "hurts"


def delong_covariance(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of ``k`` score sets on the same cases and DeLong's ``k x k`` covariance matrix of them.

    The fast algorithm of Sun & Xu (2014): midranks replace the ``m x n`` Mann-Whitney kernel, so the cost is
    ``O(k (m + n) log(m + n))``. ``scores`` is ``(k, n_cases)`` (or one vector); label 1 is the positive class.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.atleast_2d(np.asarray(scores, float))
    positive, negative = scores[:, labels == 1], scores[:, labels == 0]
    m, n = positive.shape[1], negative.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least 2 cases of each class, got {m} positive and {n} negative")
    rank_x = sps.rankdata(positive, axis=1)  # midranks within the positives
    rank_y = sps.rankdata(negative, axis=1)
    rank_z = sps.rankdata(np.concatenate([positive, negative], axis=1), axis=1)  # within all cases
    aucs = (rank_z[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    v10 = (rank_z[:, :m] - rank_x) / n  # structural components: per positive, share of negatives it beats
    v01 = 1.0 - (rank_z[:, m:] - rank_y) / m  # per negative, share of positives that beat it
    covariance = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, covariance


def delong_test(labels, scores_a, scores_b) -> dict:
    """DeLong's test of AUC(a) = AUC(b) on the same cases: difference, its standard error and the two-sided p."""
    aucs, cov = delong_covariance(labels, np.vstack([scores_a, scores_b]))
    contrast = np.array([1.0, -1.0])
    return _z_test(float(aucs[0] - aucs[1]), float(contrast @ cov @ contrast))


def mcnemar_exact(correct_a, correct_b) -> dict:
    """Exact McNemar test of equal accuracy of two classifiers on the same cases (binomial on discordant pairs)."""
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a, only_b = int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b))
    discordant = only_a + only_b
    p = 1.0 if discordant == 0 else min(1.0, 2 * float(sps.binom.cdf(min(only_a, only_b), discordant, 0.5)))
    return {"only_a_correct": only_a, "only_b_correct": only_b, "p_value": p}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error); NaN entries stay NaN and do not count."""
    p = np.asarray(p_values, float)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for i, index in enumerate(order):
        running = max(running, min(1.0, (len(order) - i) * p[index]))
        adjusted[index] = running
    return adjusted


def two_source_comparison(treatment_aucs, control_aucs, labels, treatment_scores, control_scores,
                          confidence: float = CONFIDENCE) -> dict:
    """Mean AUC difference over paired seeds, with training and test-set variance reported apart and combined.

    ``treatment_scores``/``control_scores`` are ``(n_seeds, n_cases)`` test probabilities, seed-paired rows.
    Training variance: the sample variance of the per-seed differences over ``n_seeds`` (paired t-test, t-interval).
    Test-set variance: DeLong's variance of the seed-averaged AUC difference on these test cases (all seeds share
    one test set, so it does not shrink with more seeds). Their sum gives the combined standard error, the
    combined two-sided test and its interval, on Student's t with Welch-Satterthwaite degrees of freedom (the
    training variance is estimated from ``n_seeds - 1`` df, DeLong's from many cases); with one seed the training
    variance is unknown and left out (then the test is DeLong's z-test).
    """
    treatment_aucs, control_aucs = np.asarray(treatment_aucs, float), np.asarray(control_aucs, float)
    k = treatment_aucs.size
    seeds = paired_comparison(treatment_aucs, control_aucs, confidence)
    _, cov = delong_covariance(labels, np.vstack([treatment_scores, control_scores]))
    contrast = np.concatenate([np.full(k, 1.0 / k), np.full(k, -1.0 / k)])
    test_variance = float(contrast @ cov @ contrast)
    difference = seeds["mean_difference"]
    test_set = _z_test(difference, test_variance)
    train_variance = float(np.var(treatment_aucs - control_aucs, ddof=1) / k) if k > 1 else 0.0
    df = _satterthwaite_df(train_variance, test_variance, k)
    combined = _z_test(difference, train_variance + test_variance, df)
    half = sps.t.ppf((1 + confidence) / 2, df) * combined["se"]
    return {
        "n_pairs": k, "mean_difference": difference,
        "seed_ci_low": seeds["ci_low"], "seed_ci_high": seeds["ci_high"], "p_seeds": seeds["p_value"],
        "se_train": float(np.sqrt(train_variance)), "se_test": test_set["se"], "p_delong": test_set["p_value"],
        "se": combined["se"], "df": df, "ci_low": difference - half, "ci_high": difference + half,
        "p_value": combined["p_value"],
    }  # fmt: skip


def minimum_detectable_difference(se: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true difference a two-sided z-test at ``alpha`` detects with probability ``power``, given ``se``."""
    return float((sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)) * se)


def verdict(difference: float, p_holm: float, alpha: float = ALPHA) -> str:
    """``helps`` / ``hurts`` when the Holm-adjusted p is below ``alpha`` (by the sign), else no detectable difference."""
    if not np.isfinite(p_holm) or p_holm >= alpha:
        return NO_DIFFERENCE
    return HELPS if difference > 0 else HURTS


def _satterthwaite_df(train_variance: float, test_variance: float, k: int) -> float:
    """Effective degrees of freedom of the summed variance (the DeLong part counts as known: infinite df)."""
    if k < 2 or train_variance <= 0:
        return math.inf
    return float((train_variance + test_variance) ** 2 * (k - 1) / train_variance**2)


def _z_test(difference: float, variance: float, df: float = math.inf) -> dict:
    """Two-sided test of ``difference`` = 0 with standard error ``sqrt(variance)`` (normal, or t with ``df``)."""
    se = float(np.sqrt(max(variance, 0.0)))
    if se == 0:
        p = 1.0 if difference == 0 else 0.0
    else:
        p = float(2 * sps.t.sf(abs(difference) / se, df))  # t with infinite df is the normal
    return {"difference": difference, "se": se, "p_value": p}
