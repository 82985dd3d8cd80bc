"""Honest uncertainty: bootstrap and t-intervals, paired tests over seeds, DeLong, McNemar, Holm and verdicts.

Seeds are the replicates of an experiment: an arm's mean AUC over seeds gets a Student-t interval, and two arms
of one model are compared by their seed-paired AUC difference on the shared test cases, with training and test-set
variance each counted once (:func:`two_source_comparison`). Holm's step-down procedure controls the family-wise
error of a model's verdicts; each comparison's interval is printed at the level Holm tested it at, and the verdict
(helps, hurts, equivalent within ``experiment.margin``, inconclusive) is read from that interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps
from scipy.optimize import brentq

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
MARGIN = 0.02
HELPS, HURTS, EQUIVALENT, INCONCLUSIVE = "helps", "hurts", "equivalent", "inconclusive"
VERDICTS = (HELPS, HURTS, EQUIVALENT, INCONCLUSIVE)


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
    """Mean AUC difference over paired seeds with the variance of that mean, each source counted once.

    ``treatment_scores``/``control_scores`` are ``(n_seeds, n_cases)`` test probabilities, seed-paired rows. The
    per-seed difference is ``D_s = delta + T_s + E + U_s``: training noise ``T_s`` (the seed), a test-set part ``E``
    shared by every seed (which patients happen to be in the test split) and a seed x case part ``U_s`` (how this
    seed's model fares on these particular cases). The variance of the seed mean is
    ``var(T)/k + var(E) + var(U)/k``:

    * the sample variance of the ``D_s`` over ``k`` seeds estimates ``var(T) + var(U)`` (both vary by seed);
    * DeLong's covariance matrix of the ``D_s`` on the shared cases has ``var(E)`` off its diagonal and
      ``var(E) + var(U)`` on it: the mean off-diagonal entry estimates the shared part ``var(E)``;

    so the combined variance is ``s^2 / k + mean off-diagonal covariance`` (adding DeLong's whole variance of the
    seed mean instead would count ``var(U)/k`` twice). Interval and test use Student's t with Satterthwaite degrees of
    freedom (the seed part is estimated from ``k - 1`` df, DeLong's from many cases). With one seed nothing separates
    the parts: the variance is DeLong's alone (a z-test). ``var_*`` report the components per seed (``var_seed``
    = training alone, ``var_seed_case``, ``var_test``) for the design table (:func:`projected_half_width`).
    """
    treatment_aucs, control_aucs = np.asarray(treatment_aucs, float), np.asarray(control_aucs, float)
    k = treatment_aucs.size
    differences = treatment_aucs - control_aucs
    seeds = paired_comparison(treatment_aucs, control_aucs, confidence)
    _, cov = delong_covariance(labels, np.vstack([treatment_scores, control_scores]))
    per_seed = cov[:k, :k] - cov[:k, k:] - cov[k:, :k] + cov[k:, k:]  # covariance of the D_s on these cases
    contrast = np.full(k, 1.0 / k)
    delong_variance = float(contrast @ per_seed @ contrast)  # DeLong's variance of the seed mean (this test set)
    difference = seeds["mean_difference"]
    if k > 1:
        shared = max(float(per_seed[~np.eye(k, dtype=bool)].mean()), 0.0)
        seed_case = max(float(np.diag(per_seed).mean()) - shared, 0.0)
        spread = float(np.var(differences, ddof=1))
        train_variance, test_variance = spread / k, shared
        var_seed = max(spread - seed_case, 0.0)
    else:
        shared, seed_case, var_seed = delong_variance, 0.0, math.nan
        train_variance, test_variance = 0.0, delong_variance
    df = _satterthwaite_df(train_variance, test_variance, k)
    combined = _z_test(difference, train_variance + test_variance, df)
    half = float(sps.t.ppf((1 + confidence) / 2, df) * combined["se"])
    return {
        "n_pairs": k, "mean_difference": difference,
        "seed_ci_low": seeds["ci_low"], "seed_ci_high": seeds["ci_high"], "p_seeds": seeds["p_value"],
        "se_train": float(np.sqrt(train_variance)), "se_test": float(np.sqrt(test_variance)),
        "p_delong": _z_test(difference, delong_variance)["p_value"],
        "var_seed": var_seed, "var_seed_case": seed_case, "var_test": shared,
        "se": combined["se"], "df": df, "ci_low": difference - half, "ci_high": difference + half,
        "p_value": combined["p_value"],
    }  # fmt: skip


def holm_levels(p_values, alpha: float = ALPHA) -> np.ndarray:
    """The significance level Holm's step-down procedure tests each hypothesis at.

    Sorted by p, step ``i`` (0-based) tests at ``alpha / (m - i)``; at the first step that does not reject, the
    procedure stops and every remaining hypothesis keeps that step's level. So ``p < level`` exactly when Holm's
    adjusted p is below ``alpha``, and an interval at confidence ``1 - level`` excludes 0 exactly then: intervals
    printed at these levels always agree with the verdicts. NaN p-values get NaN.
    """
    p = np.asarray(p_values, float)
    levels = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    for i, index in enumerate(order):
        levels[index] = alpha / (m - i)
        if p[index] >= levels[index]:
            levels[order[i:]] = alpha / (m - i)
            break
    return levels


def decide(difference: float, se: float, df: float, level: float, margin: float = MARGIN) -> dict:
    """The verdict of one comparison from its interval at confidence ``1 - level`` (``level`` from Holm).

    ``helps`` / ``hurts`` when the interval excludes 0 (the difference is significant after Holm); ``equivalent``
    when it lies inside ``(-margin, +margin)``: two one-sided tests, each at ``level / 2`` (the interval inclusion
    form of TOST, under the same Holm level); else ``inconclusive``. Returns the interval that decides it, its
    half-width (the smallest margin this design can call equivalent) and the TOST p-value.
    """
    if not np.isfinite(level) or not np.isfinite(se):
        return {"ci_low": math.nan, "ci_high": math.nan, "half_width": math.nan, "p_tost": math.nan,
                "verdict": INCONCLUSIVE}  # fmt: skip
    half = float(sps.t.ppf(1 - level / 2, df) * se)
    low, high = difference - half, difference + half
    if se > 0:
        p_tost = float(max(sps.t.sf((difference + margin) / se, df), sps.t.sf((margin - difference) / se, df)))
    else:
        p_tost = 0.0 if abs(difference) < margin else 1.0
    if low > 0 or high < 0:
        outcome = HELPS if difference > 0 else HURTS
    elif -margin < low and high < margin:
        outcome = EQUIVALENT
    else:
        outcome = INCONCLUSIVE
    return {"ci_low": low, "ci_high": high, "half_width": half, "p_tost": p_tost, "verdict": outcome}


def minimum_detectable_difference(se: float, df: float = math.inf, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true difference the two-sided t-test at ``alpha`` (``df`` degrees of freedom, as the verdict's test)
    detects with probability ``power``, given the standard error ``se``: the noncentral t's power solved exactly."""
    if not np.isfinite(se) or se <= 0:
        return math.nan
    critical = sps.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else sps.norm.ppf(1 - alpha / 2)

    def shortfall(shift):
        if np.isfinite(df):  # the far tail is negligible (and NaN in scipy's nct for some large shifts)
            reach = sps.nct.sf(critical, df, shift) + np.nan_to_num(sps.nct.cdf(-critical, df, shift))
        else:
            reach = sps.norm.sf(critical - shift) + sps.norm.cdf(-critical - shift)
        return reach - power

    high = critical + 4.0
    while shortfall(high) < 0:
        high *= 2
    return float(brentq(shortfall, 0.0, high) * se)


def projected_half_width(var_seed: float, var_seed_case: float, var_test: float, *, n_seeds: int, case_factor: float,
                         level: float) -> float:
    """Half-width of the interval at confidence ``1 - level`` with ``n_seeds`` seeds and ``case_factor`` times as many
    test cases, from the measured per-seed variance components (test-set parts shrink as 1 / cases)."""
    seed_part = (var_seed + var_seed_case / case_factor) / n_seeds
    test_part = var_test / case_factor
    df = _satterthwaite_df(seed_part, test_part, n_seeds)
    return float(sps.t.ppf(1 - level / 2, df) * math.sqrt(seed_part + test_part))


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
