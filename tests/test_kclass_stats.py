"""The k-class comparison: the macro one-vs-rest AUC difference's test-set covariance and its calibration, by
simulating k-class experiments whose truth is known (numpy only; the whole module runs in well under a minute of CPU).

Each simulated experiment has a treatment and a control arm, ``n_seeds`` seeds each, scored on one shared test set of
``per_class`` cases of each of ``k`` classes (a stratified split). Every classifier gives each case one score per
class (its logit; the AUC needs only their order):

    score(arm, seed, case, j) = [label == j] (MU + shift_arm + g[arm, seed])
                                + x[case, j] + b[arm, case, j] + c[arm, seed, case, j]

``g`` is training noise (a seed's model separates the classes better or worse), ``b`` the arm x case part shared by
every seed (test-set variance of the difference), ``c`` the seed x case part, ``x`` the cases' own difficulty shared
by everything. Each of ``x``, ``b`` and ``c`` is half common to a case's k scores and half per class, so the
one-vs-rest AUCs of different classes covary through the shared cases (a case is a positive of its class and a
negative of the others): ignoring that covariance overstates the macro AUC's test-set variance by half (checked
below). Each class's population one-vs-rest AUC, hence the macro AUC, is ``Phi((MU + shift) / sqrt(2 noise +
sd_train^2))`` in closed form, so the true difference is known (0 under the null) and a treatment shift can be set
to give any difference.

What is checked, through the real functions (``delong_covariance``, ``two_source_comparison``, ``decide``), batched:
(a) DeLong's macro-AUC variance and its shared part against the Monte Carlo variance over redrawn test sets;
(b) the 95% interval's coverage and the null miss rate at alpha / 8 (the level the first rows are read at) for
k = 3 and 10 with 3 and 5 seeds; (c) the power at the minimum detectable difference and at twice it.
Plus exact checks: two classes are the binary comparison, and the macro covariance is (1/k^2) 1' C 1 of the
per-class joint covariance, which agrees with DeLong's kernel written out.
"""

import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from synthaug.metrics import macro_auc
from synthaug.stats import (
    HELPS,
    TooFewCases,
    decide,
    delong_covariance,
    delong_test,
    minimum_detectable_difference,
    one_vs_rest_covariance,
    two_source_comparison,
)

MU = 1.0
ALPHA = 0.05
PER_CLASS = {3: 50, 10: 20}  # test cases per class: 150 and 200 cases
# (training sd, test-set sd, seed x case sd). The test set dominant: the part the k-class covariance estimates.
TEST_SET = (0.02, 0.6, 0.05)
SEED_CASE = (0.02, 0.05, 0.6)


def population_auc(shift, s_train, s_test, s_seed_case):
    """Every class's one-vs-rest AUC, hence the macro AUC, over new test sets and new seeds (all noise normal)."""
    noise = 1.0 + s_test**2 + s_seed_case**2  # variance of one score around its mean
    return float(sps.norm.cdf((MU + shift) / math.sqrt(2 * noise + s_train**2)))


def shift_for(difference, components):
    """The treatment's shift whose population macro AUC is the control's plus ``difference``."""
    s_train, s_test, s_seed_case = components
    scale = math.sqrt(2 * (1.0 + s_test**2 + s_seed_case**2) + s_train**2)
    return float(sps.norm.ppf(population_auc(0.0, *components) + difference) * scale - MU)


def _common_and_per_class(rng, shape, sd):
    """Normal noise of sd ``sd`` over ``(..., cases, k)``, half of its variance common to a case's k scores."""
    return sd * (rng.normal(size=(*shape[:-1], 1)) + rng.normal(size=shape)) / math.sqrt(2)


def scores(rng, k, n, *, n_seeds, components, difference=0.0, training=None):
    """``(labels, treatment, control)``: ``n`` simulated experiments' scores, ``(n, n_seeds, cases, k)`` per arm.
    ``training``: fixed seed effects ``(treatment, control)``, each ``(n_seeds,)`` (the same models each time)."""
    s_train, s_test, s_seed_case = components
    labels = np.arange(k * PER_CLASS[k]) % k
    cases = (n, 1, labels.size, k)
    difficulty = _common_and_per_class(rng, cases, 1.0)

    def arm(shift, g):
        g = rng.normal(size=(n, n_seeds)) * s_train if g is None else np.broadcast_to(g, (n, n_seeds))
        seed_case = _common_and_per_class(rng, (n, n_seeds, labels.size, k), s_seed_case)
        shared = _common_and_per_class(rng, cases, s_test)
        return np.eye(k)[labels] * (MU + shift + g[..., None, None]) + difficulty + shared + seed_case

    fixed = (None, None) if training is None else training
    return labels, arm(shift_for(difference, components), fixed[0]), arm(0.0, fixed[1])


def experiments(rng, k, n, *, seeds=(5,), components=TEST_SET, difference=0.0, training=None, chunk=500):
    """``n`` simulated k-class comparisons, each with ``max(seeds)`` seeds per arm on its own test set, compared on
    the first ``s`` seeds for each ``s`` in ``seeds`` (nested, like looks). Returns per ``s`` the batched
    ``two_source_comparison`` plus ``differences``, the per-seed macro-AUC differences ``(n, s)``."""
    n_seeds = max(seeds)
    parts = {s: [] for s in seeds}
    for start in range(0, n, chunk):
        labels, treatment, control = scores(rng, k, min(chunk, n - start), n_seeds=n_seeds, components=components,
                                            difference=difference, training=training)  # fmt: skip
        aucs, _ = delong_covariance(labels, np.concatenate([treatment, control], axis=-3))  # macro AUCs
        for s in seeds:
            t_aucs, c_aucs = aucs[:, :s], aucs[:, n_seeds:n_seeds + s]
            result = two_source_comparison(t_aucs, c_aucs, labels, treatment[:, :s], control[:, :s])
            parts[s].append({**result, "differences": t_aucs - c_aucs})
    return {s: {key: np.concatenate([np.atleast_1d(p[key]) for p in chunks]) for key in chunks[0] if key != "n_pairs"}
            for s, chunks in parts.items()}  # fmt: skip


def miss_rate(results, truth, level):
    """Share of intervals at confidence 1 - level that miss ``truth``."""
    half = sps.t.ppf(1 - level / 2, results["df"]) * results["se"]
    return float(np.mean(np.abs(results["mean_difference"] - truth) > half))


# --- Exact: two classes are the binary comparison; the macro covariance is the per-class one summed ---------------


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_two_classes_give_the_binary_comparison_exactly():
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.arange(120) % 2)
    treatment, control = (np.round(labels + rng.normal(0, s, (4, 120)), 1) for s in (0.8, 1.0))  # with ties
    two = lambda p: np.stack([-p, p], axis=-1)  # noqa: E731 (a softmax's two columns order cases the same way)
    for binary_scores in (treatment, np.concatenate([treatment, control])):
        aucs, cov = delong_covariance(labels, binary_scores)
        aucs_2, cov_2 = delong_covariance(labels, two(binary_scores))
        assert aucs_2 == pytest.approx(aucs, abs=1e-12) and cov_2 == pytest.approx(cov, abs=1e-15)
    aucs = lambda s: delong_covariance(labels, s)[0]  # noqa: E731
    binary = two_source_comparison(aucs(treatment), aucs(control), labels, treatment, control)
    k_class = two_source_comparison(aucs(treatment), aucs(control), labels, two(treatment), two(control))
    assert k_class.keys() == binary.keys()
    for key, value in binary.items():
        assert k_class[key] == pytest.approx(value, rel=1e-9, abs=1e-15, nan_ok=True), key
    assert delong_test(labels, two(treatment[0]), two(control[0])) == pytest.approx(
        delong_test(labels, treatment[0], control[0]))


def _kernel_one_vs_rest(labels, probabilities):
    """The joint covariance written out: each class's psi kernel over its positive x negative pairs, DeLong's
    structural components per case, and their covariance within each class (the class counts fixed), no ranks."""
    k, cases = probabilities.shape[-1], labels.size
    components = np.zeros((len(probabilities), k, cases))
    aucs = np.zeros((len(probabilities), k))
    for s, scores in enumerate(probabilities):
        for j in range(k):
            x, y = scores[labels == j, j], scores[labels != j, j]
            psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
            aucs[s, j] = psi.mean()
            components[s, j, labels == j] = psi.mean(axis=1) / x.size  # V10 / m
            components[s, j, labels != j] = psi.mean(axis=0) / y.size  # V01 / n
    flat = components.reshape(-1, cases)
    cov = sum(np.sum(labels == c) * np.cov(flat[:, labels == c]) for c in range(k))
    return aucs, cov.reshape(len(probabilities), k, len(probabilities), k)


@pytest.mark.parametrize("ties", [False, True])
def test_the_joint_one_vs_rest_covariance_matches_the_kernel_and_sums_to_the_macro_covariance(ties):
    rng = np.random.default_rng(3)
    k = 4
    labels = rng.permutation(np.arange(90) % k)
    probabilities = _softmax(rng.normal(size=(3, 90, k)) + 1.2 * np.eye(k)[labels])
    probabilities = np.round(probabilities, 1) if ties else probabilities
    aucs, cov = one_vs_rest_covariance(labels, probabilities)
    expected_aucs, expected_cov = _kernel_one_vs_rest(labels, probabilities)
    assert aucs == pytest.approx(expected_aucs, abs=1e-12) and cov == pytest.approx(expected_cov, abs=1e-14)
    if not ties:  # scikit-learn's multi-class AUC asks for probabilities that sum to 1
        expected = [roc_auc_score(labels, p, multi_class="ovr", average=None) for p in probabilities]
        assert aucs == pytest.approx(np.array(expected), abs=1e-12)
    macro, macro_cov = delong_covariance(labels, probabilities)
    assert macro == pytest.approx([macro_auc(labels, p) for p in probabilities], abs=1e-12)
    assert macro_cov == pytest.approx(cov.sum(axis=(1, 3)) / k**2, abs=1e-15)  # (1/k^2) 1' C 1, block by block
    assert np.all(np.linalg.eigvalsh(cov.reshape(3 * k, 3 * k)) > -1e-12)  # a covariance matrix
    same = delong_test(labels, probabilities[0], probabilities[0])
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_every_class_needs_two_test_cases():
    probabilities = _softmax(np.random.default_rng(0).normal(size=(7, 3)))
    with pytest.raises(TooFewCases, match="at least 2 of each class"):
        delong_covariance([0, 0, 1, 1, 2, 0, 1], probabilities)  # one case of class 2
    with pytest.raises(TooFewCases):
        delong_covariance([0, 0, 1, 1, 0, 0, 1], probabilities)  # none of class 2


# --- (a) The test-set variance: DeLong's against the Monte Carlo variance over redrawn test sets --------------------


@pytest.mark.parametrize("k", [3, 10])
def test_the_macro_auc_variance_matches_the_spread_over_redrawn_test_sets(k):
    # The same six models (fixed training draws), 2,000 test sets. The Monte Carlo variance of the seed-mean
    # difference has relative sd sqrt(2 / 1999) = 0.032 and the mean DeLong estimate about 0.01: the 12% tolerance is
    # 3.6 sd. Ignoring the covariance between classes (the diagonal blocks of the joint covariance only) overstates the
    # variance by 40-60% here, so such a statistic fails; so does DeLong's variance of the seed mean taken as the
    # shared part (the seed x case part is a third of it here).
    components = (0.05, 0.5, 0.5)
    rng = np.random.default_rng(k)
    training = tuple(rng.normal(size=3) * components[0] for _ in range(2))
    results = experiments(rng, k, 2000, seeds=(3,), components=components, training=training)[3]
    monte_carlo = np.var(results["mean_difference"], ddof=1)
    assert np.mean(results["se_delong"] ** 2) == pytest.approx(monte_carlo, rel=0.12)
    # The shared part (the mean off-diagonal covariance of the per-seed differences) is the Monte Carlo covariance
    # between different seeds' differences (its sd about 0.04 relative): what the verdict's se counts once.
    per_seed = np.cov(results["differences"].T)
    shared = per_seed[~np.eye(3, dtype=bool)].mean()
    assert np.mean(results["var_test"]) == pytest.approx(shared, rel=0.12)
    assert np.mean(results["se_delong"] ** 2) > 1.3 * shared  # the check tells the two apart
    # Diagonal blocks only (classes taken as independent), on 100 of these experiments with one seed per arm.
    one_seed = tuple(g[:1] for g in training)
    labels, treatment, control = scores(rng, k, 100, n_seeds=1, components=components, training=one_seed)
    _, cov = one_vs_rest_covariance(labels, np.concatenate([treatment, control], axis=-3))
    contrast = np.array([1.0, -1.0]) / k
    full = np.einsum("bsitj,s,t->b", cov, contrast, contrast)
    diagonal = np.einsum("bsiti,s,t->b", cov, contrast, contrast)
    assert np.mean(diagonal) > 1.25 * np.mean(full)


# --- (b) Coverage and the null miss rate at the verdict level ------------------------------------------------------


@pytest.mark.parametrize("k, components", [(3, TEST_SET), (10, TEST_SET), (3, SEED_CASE)])
def test_the_null_miss_rate_at_the_verdict_level_and_the_95_percent_coverage(k, components):
    # 8,000 experiments per cell (k, seeds): at alpha / 8 = 0.00625, 50 misses are expected; 1.3x is 65 (2.1 sd
    # above), and a statistic that misses twice as often (100 expected) passes with probability < 1e-5. At 95% the
    # miss rate's Monte Carlo sd is 0.0024: 0.065 is 6 sd above nominal, and a standard error 10% too small (miss
    # rate about 0.08) fails. The lower bounds keep the interval from being far too wide: with three seeds the
    # seed variance's 90% upper bound in the degrees of freedom makes it conservative (docs/statistics.md).
    level = ALPHA / 8
    rng = np.random.default_rng([k, int(100 * components[1])])
    for n_seeds, results in experiments(rng, k, 8000, seeds=(3, 5), components=components).items():
        at_level, at_95 = miss_rate(results, 0.0, level), miss_rate(results, 0.0, 0.05)
        assert 0.3 * level <= at_level <= 1.3 * level, (n_seeds, at_level / level)
        assert (0.02 if n_seeds == 3 else 0.03) <= at_95 <= 0.065, (n_seeds, at_95)


# --- (c) Power at the minimum detectable difference and at twice it -------------------------------------------------


@pytest.mark.parametrize("k", [3, 10])
def test_twice_the_minimum_detectable_difference_is_detected(k):
    # 600 experiments per point: the power's Monte Carlo sd is 0.016 at 0.8, so 0.8 +- 0.07 is 4.3 sd; a standard
    # error 20% too large (power about 0.62) or too small (about 0.91) fails it.
    rng = np.random.default_rng(10 + k)
    null = experiments(rng, k, 600)[5]
    mdd = minimum_detectable_difference(float(np.std(null["mean_difference"])), float(np.median(null["df"])))
    at_mdd = experiments(rng, k, 600, difference=mdd)[5]
    assert np.mean(at_mdd["p_value"] < ALPHA) == pytest.approx(0.8, abs=0.07)
    twice = experiments(rng, k, 600, difference=2 * mdd)[5]
    rows = zip(twice["mean_difference"], twice["se"], twice["df"])
    verdicts = [decide(d, s, df, ALPHA)["verdict"] for d, s, df in rows]
    assert np.mean([v == HELPS for v in verdicts]) >= 0.97
