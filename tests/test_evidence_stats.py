"""DeLong against a direct O(m n) Mann-Whitney-kernel computation, exact McNemar against scipy's binomtest,
Holm and its step levels against hand-computed cases, and the verdict rule and combined test on data with known
answers. Calibration by simulation (coverage, family-wise error, power) is in test_calibration.py."""

import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from synthaug.stats import (
    EQUIVALENT,
    HELPS,
    HURTS,
    INCONCLUSIVE,
    TooFewCases,
    decide,
    delong_covariance,
    delong_test,
    gatekeeping_levels,
    holm,
    mcnemar_exact,
    minimum_detectable_difference,
    two_source_comparison,
)


def _kernel_delong(labels, scores):
    """DeLong et al. (1988) written out: psi kernel over every positive x negative pair, no ranks."""
    labels = np.asarray(labels)
    k = len(scores)
    aucs, v10s, v01s = [], [], []
    for s in scores:
        x, y = s[labels == 1], s[labels == 0]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        aucs.append(psi.mean())
        v10s.append(psi.mean(axis=1))  # per positive
        v01s.append(psi.mean(axis=0))  # per negative
    m, n = len(v10s[0]), len(v01s[0])
    s10 = np.array([[np.sum((v10s[a] - aucs[a]) * (v10s[b] - aucs[b])) / (m - 1) for b in range(k)] for a in range(k)])
    s01 = np.array([[np.sum((v01s[a] - aucs[a]) * (v01s[b] - aucs[b])) / (n - 1) for b in range(k)] for a in range(k)])
    return np.array(aucs), s10 / m + s01 / n


def _scores(rng, n=120, k=3, ties=False):
    labels = rng.integers(0, 2, n)
    latent = labels + rng.normal(0, 1.2, n)
    scores = np.array([latent + rng.normal(0, 0.6, n) for _ in range(k)])
    if ties:
        scores = np.round(scores, 1)  # many tied scores, within and across classes
    return labels, scores


@pytest.mark.parametrize("ties", [False, True])
def test_delong_matches_the_direct_kernel_computation_and_sklearn(ties):
    labels, scores = _scores(np.random.default_rng(3), ties=ties)
    aucs, cov = delong_covariance(labels, scores)
    expected_aucs, expected_cov = _kernel_delong(labels, scores)
    assert aucs == pytest.approx(expected_aucs, abs=1e-12)
    assert aucs == pytest.approx([roc_auc_score(labels, s) for s in scores], abs=1e-12)
    assert cov == pytest.approx(expected_cov, abs=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) > -1e-12)  # a covariance matrix


def test_delong_test_of_identical_scores_is_no_difference_and_of_better_scores_is_significant():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    good = labels + rng.normal(0, 0.5, 400)
    noise = rng.normal(0, 1, 400)
    same = delong_test(labels, good, good)
    assert same["difference"] == 0 and same["p_value"] == 1.0
    better = delong_test(labels, good, noise)
    assert better["difference"] > 0.3 and better["p_value"] < 1e-6
    _, cov = _kernel_delong(labels, np.vstack([good, noise]))
    assert better["se"] == pytest.approx(math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))


def test_delong_needs_two_cases_per_class():
    with pytest.raises(TooFewCases, match="at least 2 of each class"):
        delong_covariance([1, 0, 0], [0.9, 0.1, 0.2])


@pytest.mark.parametrize("only_a, only_b, both", [(3, 12, 40), (7, 7, 10), (0, 5, 3), (20, 9, 100), (0, 0, 8)])
def test_mcnemar_exact_matches_binomtest_on_discordant_pairs(only_a, only_b, both):
    a = np.array([1] * only_a + [0] * only_b + [1] * both + [0] * 4, bool)
    b = np.array([0] * only_a + [1] * only_b + [1] * both + [0] * 4, bool)
    result = mcnemar_exact(a, b)
    assert (result["only_a_correct"], result["only_b_correct"]) == (only_a, only_b)
    expected = 1.0 if only_a + only_b == 0 else sps.binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert result["p_value"] == pytest.approx(expected, rel=1e-12)


def test_holm_matches_a_hand_computed_case():
    # sorted p: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> monotone 0.06)
    adjusted = holm([0.03, 0.01, 0.04, 0.02])
    assert adjusted == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    with_nan = holm([0.01, float("nan"), 0.04])
    assert with_nan[0] == pytest.approx(0.02) and math.isnan(with_nan[1]) and with_nan[2] == pytest.approx(0.04)


def test_gatekeeping_is_holm_within_a_stage_and_passes_alpha_on_only_when_a_stage_is_all_rejected():
    # Stage 0 holds all of alpha: Holm's steps 0.025 then 0.05; both rejected, so stage 1 gets the full 0.05.
    levels, rejected = gatekeeping_levels([0, 0, 1, 2, 2], [0.02, 0.001, 0.04, 0.02, 0.03], 0.05)
    assert levels == pytest.approx([0.05, 0.025, 0.05, 0.025, 0.05]) and rejected.tolist() == [True] * 5
    # A stage that is not all rejected stops everything after it: level 0, never rejected.
    levels, rejected = gatekeeping_levels([0, 1, 2], [0.001, 0.2, 0.0001], 0.05)
    assert levels == pytest.approx([0.05, 0.05, 0.0]) and rejected.tolist() == [True, False, False]
    # Claims made at an earlier look stand and pass their error on; NaN never rejects.
    levels, rejected = gatekeeping_levels([0, 1], [0.5, 0.01], 0.01, rejected=[True, False])
    assert levels[1] == pytest.approx(0.01) and rejected.tolist() == [True, True]
    assert gatekeeping_levels([0, 1], [float("nan"), 0.0], 0.05)[1].tolist() == [False, False]


def test_verdict_rule():
    # se 0.01 with infinite df: half-width 1.96 * 0.01 at level 0.05.
    assert decide(+0.04, 0.01, math.inf, 0.05)["verdict"] == HELPS
    assert decide(-0.04, 0.01, math.inf, 0.05)["verdict"] == HURTS
    # Equivalence: TOST at 0.05, i.e. the 90% interval [-0.0062, +0.0102] inside the margin.
    equivalent = decide(+0.002, 0.005, math.inf, 0.05, margin=0.02)
    assert equivalent["verdict"] == EQUIVALENT and equivalent["interval"] == "equivalence"
    assert equivalent["ci_high"] == pytest.approx(0.002 + sps.norm.ppf(0.95) * 0.005)
    assert equivalent["interval_confidence"] == pytest.approx(0.90)
    assert decide(+0.002, 0.005, math.inf, 0.05, margin=0.01)["verdict"] == INCONCLUSIVE  # reaches past 0.01
    # The equivalence claim at its own level: not reached (0) is never equivalent, and says so.
    untested = decide(+0.002, 0.005, math.inf, 0.0, margin=0.02, equivalence_level=0.0)
    assert untested["verdict"] == INCONCLUSIVE and "not tested" in untested["reason"]
    assert decide(+0.015, 0.01, math.inf, 0.05, margin=0.02)["verdict"] == INCONCLUSIVE
    # A stricter level widens the interval: significant at 0.05, not at 0.005.
    assert decide(+0.025, 0.01, math.inf, 0.005)["verdict"] == INCONCLUSIVE
    result = decide(+0.025, 0.01, 4.0, 0.05)
    assert result["half_width"] == pytest.approx(sps.t.ppf(0.975, 4) * 0.01)
    assert result["ci_low"] == pytest.approx(0.025 - result["half_width"])
    # TOST: the larger of the two one-sided p-values against -margin and +margin.
    assert result["p_tost"] == pytest.approx(sps.t.sf((0.02 - 0.025) / 0.01, 4))


def _runs(rng, base, n_seeds, seed_sd):
    """Test scores of n_seeds runs on the same cases: ``base`` (the cases' own difficulty, shared by every run)
    plus run-specific noise whose size itself varies from seed to seed (sd about ``seed_sd``)."""
    return np.array([base + rng.normal(0, abs(0.3 + rng.normal(0, seed_sd)), base.size) for _ in range(n_seeds)])


def _compare(treatment, control, labels):
    aucs = lambda runs: [roc_auc_score(labels, r) for r in runs]  # noqa: E731
    return two_source_comparison(aucs(treatment), aucs(control), labels, treatment, control)


def test_combined_test_finds_a_real_gain_and_no_gain_where_there_is_none():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 600)
    base = labels + rng.normal(0, 1.0, labels.size)
    control = _runs(rng, base, 5, 0.02)
    better = _runs(rng, base + 0.8 * labels, 5, 0.02)  # the same cases, a stronger signal
    same = _runs(rng, base, 5, 0.02)
    gain = _compare(better, control, labels)
    assert gain["mean_difference"] > 0.05 and gain["p_value"] < 1e-4 and gain["ci_low"] > 0
    null = _compare(same, control, labels)
    assert abs(null["mean_difference"]) < 0.02 and null["ci_low"] < 0 < null["ci_high"]
    assert decide(gain["mean_difference"], gain["se"], gain["df"], 0.05)["verdict"] == HELPS
    assert decide(null["mean_difference"], null["se"], null["df"], 0.05, margin=0.05)["verdict"] == EQUIVALENT
    worse = _compare(control, better, labels)
    assert decide(worse["mean_difference"], worse["se"], worse["df"], 0.05)["verdict"] == HURTS


def test_both_sources_of_variance_enter_the_combined_standard_error():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 300)
    base = labels + rng.normal(0, 1.0, labels.size)
    treatment, control = _runs(rng, base, 6, 0.3), _runs(rng, base, 6, 0.3)
    result = _compare(treatment, control, labels)
    assert result["se"] == pytest.approx(math.hypot(result["se_train"], result["se_test"]))
    diffs = [roc_auc_score(labels, t) - roc_auc_score(labels, c) for t, c in zip(treatment, control)]
    assert result["se_train"] == pytest.approx(np.std(diffs, ddof=1) / math.sqrt(6))
    # The test-set part is the shared covariance of the per-seed differences (off DeLong's diagonal), not DeLong's
    # variance of the seed mean, whose diagonal part the seed spread already holds.
    _, cov = delong_covariance(labels, np.vstack([treatment, control]))
    per_seed = cov[:6, :6] - cov[:6, 6:] - cov[6:, :6] + cov[6:, 6:]
    assert result["se_test"] ** 2 == pytest.approx(max(per_seed[~np.eye(6, dtype=bool)].mean(), 0.0))  # >= 0
    assert result["se_test"] ** 2 < per_seed.mean()
    assert result["p_seeds"] == pytest.approx(sps.ttest_1samp(diffs, 0).pvalue)
    assert result["ci_low"] < result["mean_difference"] < result["ci_high"]
    # Satterthwaite's df with the training part's 90% upper confidence bound (5 df) in place of its estimate.
    v_train, v_test = result["se_train"] ** 2, result["se_test"] ** 2
    upper = v_train * 5 / sps.chi2.ppf(0.1, 5)
    assert result["df"] == pytest.approx((upper + v_test) ** 2 * 5 / upper**2) and result["df"] >= 5
    t = result["mean_difference"] / result["se"]
    assert result["p_value"] == pytest.approx(2 * sps.t.sf(abs(t), result["df"]))
    one = two_source_comparison(
        [roc_auc_score(labels, treatment[0])], [roc_auc_score(labels, control[0])], labels, treatment[:1], control[:1]
    )
    # One seed: no training variance, so no interval and no verdict; DeLong's part is kept for the record.
    assert math.isnan(one["se"]) and math.isnan(one["ci_low"]) and one["se_delong"] > 0 and math.isnan(one["p_seeds"])


def test_minimum_detectable_difference_is_the_power_of_the_t_test():
    assert minimum_detectable_difference(0.01) == pytest.approx((1.959964 + 0.841621) * 0.01, rel=1e-5)  # z, df inf
    # With few degrees of freedom the t-test needs a larger difference, and a stricter alpha larger still.
    assert minimum_detectable_difference(0.01, 4) > minimum_detectable_difference(0.01, 20) > 0.028
    assert minimum_detectable_difference(0.01, 4, alpha=0.05 / 8) > minimum_detectable_difference(0.01, 4)
    # Simulated t statistics with 4 df (normal estimate, chi-square standard error): power 0.8 at the MDD.
    rng = np.random.default_rng(0)
    shift = minimum_detectable_difference(1.0, 4)
    t = rng.normal(shift, 1.0, 40000) / np.sqrt(rng.chisquare(4, 40000) / 4)
    assert np.mean(np.abs(t) > sps.t.ppf(0.975, 4)) == pytest.approx(0.8, abs=0.01)
