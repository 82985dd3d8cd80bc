"""Calibration of the comparisons, by simulating test scores whose truth is known (numpy only, seconds).

Each simulated experiment has a treatment and a control arm, ``k`` seeds each, scored on one shared test set:

    score(arm, seed, case) = label * (mu + shift_arm + g[arm, seed]) + x[case] + b[arm, case] + c[arm, seed, case]

``g`` is training noise (a seed's model separates the classes better or worse), ``b`` the arm x case part shared by
every seed (which test patients happen to suit this arm: test-set variance of the difference), ``c`` the seed x case
part, and ``x`` the cases' own difficulty, shared by everything. Each regime makes one of the three dominant. The
population AUC of an arm is known in closed form, so the true difference is too (0 under the null).
The checks: 95% coverage under the null in every regime, coverage of a small true effect (0.025 AUC) and its
detection by a large design, the minimum detectable difference against the simulated power of the actual test, and
the family-wise error of the Holm-level verdicts (false `helps`/`hurts` and false `equivalent`).
"""

import math

import numpy as np
import pytest
from scipy import stats as sps

from synthaug.metrics import roc_auc
from synthaug.stats import EQUIVALENT, HELPS, HURTS, decide, holm_levels, minimum_detectable_difference, two_source_comparison

MU = 1.0
# (training sd, test-set sd, seed x case sd): each component dominant in turn.
REGIMES = {"training": (0.25, 0.05, 0.05), "test set": (0.02, 0.6, 0.05), "seed x case": (0.02, 0.05, 0.6)}


def population_auc(shift, s_train, s_test, s_seed_case):
    """AUC over new test sets and new seeds: P(positive scores above negative), all noise normal."""
    noise = 1.0 + s_test**2 + s_seed_case**2  # variance of one case's score around its class mean
    return float(sps.norm.cdf((MU + shift) / math.sqrt(2 * noise + s_train**2)))


def shift_for(difference, s_train, s_test, s_seed_case):
    """The treatment's shift whose population AUC is the control's plus ``difference``."""
    scale = math.sqrt(2 * (1.0 + s_test**2 + s_seed_case**2) + s_train**2)
    return float(sps.norm.ppf(population_auc(0.0, s_train, s_test, s_seed_case) + difference) * scale - MU)


def experiment(rng, components, *, n_seeds=5, n_cases=300, shift=0.0):
    """One simulated comparison: two_source_comparison of a treatment (``shift``) against a control."""
    s_train, s_test, s_seed_case = components
    labels = rng.permutation(np.arange(n_cases) % 2)
    difficulty = rng.normal(size=n_cases)

    def arm(arm_shift):
        shared = rng.normal(size=n_cases) * s_test
        training = rng.normal(size=(n_seeds, 1)) * s_train
        seed_case = rng.normal(size=(n_seeds, n_cases)) * s_seed_case
        return labels * (MU + arm_shift + training) + difficulty + shared + seed_case

    treatment, control = arm(shift), arm(0.0)
    aucs = lambda scores: [roc_auc(labels, s) for s in scores]  # noqa: E731
    return two_source_comparison(aucs(treatment), aucs(control), labels, treatment, control)


def _coverage(results, truth):
    return float(np.mean([r["ci_low"] <= truth <= r["ci_high"] for r in results]))


@pytest.mark.parametrize("regime", list(REGIMES))
def test_null_coverage_is_95_percent_with_five_seeds_in_every_regime(regime):
    # 1,200 replicates: a 95% interval's coverage has sd 0.0063, so [0.93, 0.97] is more than 3 sd either side.
    rng = np.random.default_rng(list(REGIMES).index(regime))
    results = [experiment(rng, REGIMES[regime]) for _ in range(1200)]
    assert 0.93 <= _coverage(results, 0.0) <= 0.97
    # The standard error estimates the actual spread of the estimate (not ~30% wider, as the double count made it).
    spread = np.std([r["mean_difference"] for r in results])
    assert np.median([r["se"] for r in results]) == pytest.approx(spread, rel=0.12)


def test_a_small_true_effect_is_covered_and_a_large_design_finds_it():
    components = (0.1, 0.3, 0.3)
    shift = shift_for(0.025, *components)
    rng = np.random.default_rng(7)
    results = [experiment(rng, components, shift=shift) for _ in range(600)]
    assert 0.93 <= _coverage(results, 0.025) <= 0.97
    assert np.mean([r["mean_difference"] for r in results]) == pytest.approx(0.025, abs=0.002)
    # Twenty seeds on 2,000 cases: the interval is narrow enough that the Holm-free verdict says "helps".
    large = [experiment(rng, (0.05, 0.3, 0.3), n_seeds=20, n_cases=2000, shift=shift_for(0.025, 0.05, 0.3, 0.3))
             for _ in range(30)]  # fmt: skip
    verdicts = [decide(r["mean_difference"], r["se"], r["df"], 0.05)["verdict"] for r in large]
    assert np.mean([v == HELPS for v in verdicts]) >= 0.9
    assert HURTS not in verdicts


def test_minimum_detectable_difference_matches_the_simulated_power_of_the_test():
    components = (0.05, 0.3, 0.3)
    rng = np.random.default_rng(11)
    null = [experiment(rng, components) for _ in range(400)]
    se = float(np.std([r["mean_difference"] for r in null]))
    df = float(np.median([r["df"] for r in null]))
    mdd = minimum_detectable_difference(se, df)

    def power(difference, n=300):
        shift = shift_for(difference, *components)
        return np.mean([experiment(rng, components, shift=shift)["p_value"] < 0.05 for _ in range(n)])

    # The MDD is within 10% of where the actual test reaches 80% power.
    assert power(0.9 * mdd) < 0.8 < power(1.1 * mdd)


def _family(rng, true_differences, se=0.01, df=6):
    """Holm-level verdicts of one family of comparisons with normal estimates and chi-square standard errors."""
    true_differences = np.asarray(true_differences, float)
    estimates = rng.normal(true_differences, se)
    ses = se * np.sqrt(rng.chisquare(df, true_differences.size) / df)
    p = 2 * sps.t.sf(np.abs(estimates / ses), df)
    return [decide(d, s, df, level, margin=0.02)["verdict"] for d, s, level in zip(estimates, ses, holm_levels(p))]


def test_holm_level_verdicts_keep_the_family_wise_error():
    rng = np.random.default_rng(3)
    # No difference anywhere: any helps/hurts is an error.
    null = [_family(rng, [0.0] * 8) for _ in range(2000)]
    assert np.mean([any(v in (HELPS, HURTS) for v in f) for f in null]) <= 0.06
    # Every difference exactly at the margin (half of them above, half below) plus some large ones that Holm rejects
    # first: any "equivalent" on a row at the margin is an error.
    at_margin = [0.02, -0.02, 0.02, -0.02, 0.02, -0.02]
    families = [_family(rng, [0.08, -0.08, *at_margin], se=0.004) for _ in range(2000)]
    assert np.mean([any(v == EQUIVALENT for v in f[2:]) for f in families]) <= 0.06
    # ...while a design that can decide does call true zeros equivalent.
    assert np.mean([v == EQUIVALENT for f in (_family(rng, [0.0] * 8, se=0.003) for _ in range(100)) for v in f]) > 0.9
