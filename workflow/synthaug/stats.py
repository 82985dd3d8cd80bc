"""Honest uncertainty: bootstrap and t-intervals, paired tests over seeds, DeLong, McNemar, the testing order and
verdicts.

Seeds are the replicates of an experiment: an arm's mean AUC over seeds gets a Student-t interval, and two arms
of one model are compared by their seed-paired AUC difference on the shared test cases, with training and test-set
variance each counted once (:func:`two_source_comparison`), on a t whose degrees of freedom hold at small levels
(:func:`degrees_of_freedom`). A pre-specified testing order (:func:`family_verdicts`: positive controls, then the
study's question, then the rest; serial gatekeeping with Holm inside each stage) controls the family-wise error of a
model's difference claims and of its equivalence claims, across the looks of seeds until decided
(:func:`look_levels`); each verdict (helps, hurts, equivalent within ``experiment.margin``, inconclusive, n/a) is
read from the interval at the level its row was tested at. A k-class task compares macro one-vs-rest AUCs the same
way, its test-set part from the per-class AUCs' joint DeLong covariance (:func:`delong_covariance`,
:func:`one_vs_rest_covariance`; docs/statistics.md, "k-class tasks").
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .metrics import macro_auc, roc_auc


class _LazyModule:
    """A module imported on first use: an evaluation job only bootstraps AUCs, and importing scipy.stats would
    cost it more than a second of CPU."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        import importlib

        return getattr(importlib.import_module(self._name), attribute)


sps = _LazyModule("scipy.stats")

CONFIDENCE = 0.95


def bootstrap_auc_ci(labels, probabilities, *, n_samples: int, seed: int, confidence: float = CONFIDENCE):
    """Percentile bootstrap interval of the AUC, resampling test cases with replacement; of the macro one-vs-rest AUC
    for ``(n_cases, k)`` probabilities.

    Resamples that happen to lack a class are dropped (they have no AUC). Returns ``(low, high)``.
    """
    labels, probabilities = np.asarray(labels), np.asarray(probabilities, float)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(labels), size=(n_samples, len(labels)))
    auc = roc_auc if probabilities.ndim == 1 else macro_auc
    aucs = np.array([auc(labels[i], probabilities[i]) for i in index])
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
    half = _t_ppf((1 + confidence) / 2, values.size - 1) * np.std(values, ddof=1) / np.sqrt(values.size)
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
HELPS, HURTS, EQUIVALENT, INCONCLUSIVE, NOT_APPLICABLE = "helps", "hurts", "equivalent", "inconclusive", "n/a"
VERDICTS = (HELPS, HURTS, EQUIVALENT, INCONCLUSIVE)
# The degrees of freedom of a comparison's t come from this upper confidence bound of the seed variance
# (docs/statistics.md, "The tail"): Satterthwaite's df from the estimate itself is too large exactly when the seed
# spread happens to be small, so the interval missed a true null up to 4.8x too often at alpha / 8 (3 seeds).
SEED_VARIANCE_BOUND = 0.9
# Roles of the comparisons, in the order they are tested and reported (docs/statistics.md, "The testing order").
POSITIVE_CONTROL, PRIMARY, SECONDARY = "positive_control", "primary", "secondary"
ROLES = (POSITIVE_CONTROL, PRIMARY, SECONDARY)


class TooFewCases(ValueError):
    """The test cases hold fewer than two of a class: no AUC variance can be estimated (a user's split, not a bug)."""


def delong_covariance(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of ``S`` score sets on the same cases and DeLong's ``S x S`` covariance matrix of them.

    Binary: ``scores`` is ``(..., S, n_cases)`` (or one vector), label 1 the positive class; leading axes are a batch
    of independent score sets on the same cases. k classes: ``scores`` is ``(..., S, n_cases, k)`` probabilities
    (or one ``(n_cases, k)`` array), labels ``0 .. k - 1``, and the AUC is the macro one-vs-rest AUC (the mean over
    classes of class ``j`` against the rest by column ``j``). The two are told apart by the last axis: the cases
    (binary) or the classes (``k < n_cases`` whenever every class has the two cases a variance needs). With two
    classes, ``[1 - p, p]`` gives the binary result exactly.

    The macro AUC is linear in the per-class AUCs, so its covariance is ``(1/k^2) 1' C 1`` over the per-class blocks
    of their joint DeLong covariance ``C`` (:func:`one_vs_rest_covariance`); it is computed from the per-case
    components averaged over classes, without forming ``C``. Conditional on the test split's class counts (the split
    is stratified), as DeLong's is on the numbers of positives and negatives (:func:`_case_covariance`).
    Returns ``(..., S)`` AUCs and ``(..., S, S)`` covariances.
    """
    labels, scores, positives = _score_columns(labels, scores)
    aucs, components = 0.0, 0.0
    for j, positive in enumerate(positives):
        auc, component = _placements(scores[..., j], labels == positive)
        aucs, components = aucs + auc / len(positives), components + component / len(positives)
    return aucs, _case_covariance(components, labels)


def one_vs_rest_covariance(labels, probabilities) -> tuple[np.ndarray, np.ndarray]:
    """Per-class one-vs-rest AUCs of ``S`` k-class score sets on the same cases and their joint DeLong covariance.

    ``probabilities`` is ``(..., S, n_cases, k)`` (or one ``(n_cases, k)``). Each one-vs-rest AUC is a two-sample
    U-statistic on the same cases, a case being a positive of its own class and a negative of every other, so the
    AUCs of all classes and all score sets covary through the cases' placements (DeLong's structural components).
    Returns ``(..., S, k)`` AUCs and the ``(..., S, k, S, k)`` covariance; :func:`delong_covariance` of the same
    scores is ``(1/k^2)`` times its sum over the two class axes (the macro AUC's).
    """
    labels, scores, positives = _score_columns(labels, probabilities)
    columns = [_placements(scores[..., j], labels == positive) for j, positive in enumerate(positives)]
    aucs = np.stack([auc for auc, _ in columns], axis=-1)  # (..., S, k)
    components = np.stack([component for _, component in columns], axis=-2)  # (..., S, k, n)
    shape = components.shape
    covariance = _case_covariance(components.reshape(*shape[:-3], shape[-3] * shape[-2], shape[-1]), labels)
    return aucs, covariance.reshape(*shape[:-1], *shape[-3:-1])


def _score_columns(labels, scores) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``(labels, scores, positives)``: scores as ``(..., S, n_cases, columns)``, column ``j`` scoring "the case is
    of class ``positives[j]``" (binary: one column, class 1; k classes: column ``j`` class ``j``). Every class of
    the cases needs two of them (:class:`TooFewCases`)."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores)
    scores = scores if scores.dtype.kind == "f" else scores.astype(float)  # float32 scores stay float32
    n_cases = labels.size
    if scores.shape[-1] == n_cases:  # binary: one score per case
        scores = scores[None] if scores.ndim == 1 else scores
        m, n = int(np.sum(labels == 1)), int(np.sum(labels == 0))
        if m < 2 or n < 2:
            raise TooFewCases(f"the test cases hold {m} positive and {n} negative; an AUC's variance needs at least 2 "
                              "of each class")  # fmt: skip
        return labels, scores[..., None], (1,)
    scores = scores[None] if scores.ndim == 2 else scores
    if scores.ndim < 3 or scores.shape[-2] != n_cases:
        raise ValueError(f"scores of shape {scores.shape} fit neither (..., sets, {n_cases} cases) nor "
                         f"(..., sets, {n_cases} cases, classes)")  # fmt: skip
    k = scores.shape[-1]
    counts = np.bincount(labels, minlength=k) if labels.size and labels.min() >= 0 else np.zeros(0, int)
    if counts.size != k or counts.min() < 2:
        raise TooFewCases(f"the test cases hold {counts.tolist()} cases of labels 0..{max(counts.size, k) - 1} for "
                          f"{k} classes' probabilities; each class's AUC variance needs at least 2 of each class")
    return labels, scores, tuple(range(k))


def _placements(scores, positive) -> tuple[np.ndarray, np.ndarray]:
    """One AUC per row of ``scores`` (``(..., n_cases)``; ``positive`` the cases of the positive class) and each
    case's scaled placement: a positive's share of the negatives it outscores over the number of positives, a
    negative's share of the positives that outscore it over the number of negatives (ties half). These are
    DeLong's structural components V10 / m and V01 / n, found from one sort per row (as Sun & Xu's 2014 midranks):
    ``O(n log n)``, not the ``m x n`` kernel."""
    m = int(positive.sum())
    n = positive.size - m
    shape = scores.shape
    rows = np.ascontiguousarray(scores).reshape(-1, shape[-1])
    order = np.argsort(rows, axis=-1)
    ordered = np.take_along_axis(rows, order, axis=-1)
    is_positive = positive[order]
    # Along each sorted row: negatives so far, and positives so far, each counting the case itself.
    negatives = np.cumsum(~is_positive, axis=-1, dtype=np.int32)
    positives = np.arange(1, shape[-1] + 1, dtype=np.int32) - negatives
    first = np.ones(ordered.shape, bool)  # the first of a run of tied scores
    first[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    if first.all():  # no ties: a positive beats the negatives so far; the positives after a negative beat it
        twice = 2 * np.where(is_positive, negatives, m - positives)
    else:  # counts below a run of tied scores and through its end, spread over the run (they rise along the row)
        last = np.ones(ordered.shape, bool)
        last[:, :-1] = first[:, 1:]
        below = [np.maximum.accumulate(np.where(first, count - own, 0), axis=-1)
                 for count, own in ((negatives, ~is_positive), (positives, is_positive))]  # fmt: skip
        through = [np.minimum.accumulate(np.where(last, count, total)[:, ::-1], axis=-1)[:, ::-1]
                   for count, total in ((negatives, n), (positives, m))]  # fmt: skip
        twice = np.where(is_positive, below[0] + through[0], 2 * m - below[1] - through[1])  # ties count half
    out = np.empty(rows.shape)
    np.put_along_axis(out, order, twice / (2.0 * m * n), axis=-1)
    out[np.isnan(rows).any(axis=-1)] = np.nan  # a score set holding NaN has no AUC (as with ranks that propagate NaN)
    out = out.reshape(shape)
    return out[..., positive].sum(axis=-1), out


def _case_covariance(components, labels) -> np.ndarray:
    """DeLong's covariance from per-case components ``(..., S, n_cases)``: the cases of each class are independent
    draws of that class (the class counts held fixed), so ``cov = sum_c n_c cov_c``, ``cov_c`` the sample covariance
    (ddof 1) of the components over class ``c``'s cases. Binary: ``S10 / m + S01 / n``. Returns ``(..., S, S)``."""
    classes, index, counts = np.unique(labels, return_inverse=True, return_counts=True)
    one_hot = np.eye(classes.size)[index]  # (n_cases, classes)
    means = (components @ one_hot) / counts
    centred = components - means @ one_hot.T
    weights = (counts / (counts - 1))[index]
    return (centred * weights) @ np.swapaxes(centred, -1, -2)


def delong_test(labels, scores_a, scores_b) -> dict:
    """DeLong's test of AUC(a) = AUC(b) on the same cases: difference, its standard error and the two-sided p
    (binary scores or k-class probabilities, the macro one-vs-rest AUC: :func:`delong_covariance`)."""
    aucs, cov = delong_covariance(labels, np.stack([scores_a, scores_b]))
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

    ``treatment_scores``/``control_scores`` are ``(n_seeds, n_cases)`` test probabilities, seed-paired rows (or
    ``(..., n_seeds, n_cases)``: a batch of independent comparisons on the same cases, every value then an array).
    A k-class task gives ``(..., n_seeds, n_cases, k)`` class probabilities and the AUCs are macro one-vs-rest AUCs
    (:func:`synthaug.metrics.macro_auc`); the test-set covariance is then the macro AUC's, from the per-class AUCs'
    joint DeLong covariance on the shared cases (:func:`delong_covariance`), and everything else is the same.
    The per-seed difference is ``D_s = delta + T_s + E + U_s``: training noise ``T_s`` (the seed), a test-set part
    ``E`` shared by every seed (which patients happen to be in the test split) and a seed x case part ``U_s`` (how
    this seed's model fares on these particular cases). The variance of the seed mean is
    ``var(T)/k + var(E) + var(U)/k``:

    * the sample variance of the ``D_s`` over ``k`` seeds estimates ``var(T) + var(U)`` (both vary by seed);
    * DeLong's covariance matrix of the ``D_s`` on the shared cases has ``var(E)`` off its diagonal and
      ``var(E) + var(U)`` on it: the mean off-diagonal entry estimates the shared part ``var(E)``;

    so the combined variance is ``s^2 / k + mean off-diagonal covariance``. The interval and test use Student's t
    whose degrees of freedom are Satterthwaite's, computed from a ``SEED_VARIANCE_BOUND`` upper confidence bound of
    ``s^2`` (:func:`degrees_of_freedom`). With one seed nothing separates the parts: ``se``, ``df`` and the interval
    are NaN (no verdict); ``se_delong`` keeps DeLong's standard error for the record. ``var_*`` report the
    components per seed (``var_seed`` = training alone, ``var_seed_case``, ``var_test``) for the design table.
    """
    treatment_aucs, control_aucs = np.asarray(treatment_aucs, float), np.asarray(control_aucs, float)
    k = treatment_aucs.shape[-1]
    differences = treatment_aucs - control_aucs
    seed_axis = -2 if np.shape(treatment_scores)[-1] == np.size(labels) else -3  # binary, or k-class probabilities
    _, cov = delong_covariance(labels, np.concatenate([treatment_scores, control_scores], axis=seed_axis))
    per_seed = cov[..., :k, :k] - cov[..., :k, k:] - cov[..., k:, :k] + cov[..., k:, k:]  # cov of the D_s
    delong_variance = per_seed.mean(axis=(-1, -2))  # DeLong's variance of the seed mean on this test set
    difference = differences.mean(axis=-1)
    if k > 1:
        off_diagonal = ~np.eye(k, dtype=bool)
        shared = np.maximum(per_seed[..., off_diagonal].mean(axis=-1), 0.0)
        seed_case = np.maximum(np.diagonal(per_seed, axis1=-2, axis2=-1).mean(axis=-1) - shared, 0.0)
        spread = differences.var(axis=-1, ddof=1)
        train_variance, test_variance = spread / k, shared
        var_seed = np.maximum(spread - seed_case, 0.0)
        se = np.sqrt(train_variance + test_variance)
        df = degrees_of_freedom(train_variance, test_variance, k)
    else:
        shared = seed_case = var_seed = np.full_like(difference, np.nan)
        train_variance, test_variance = np.zeros_like(difference), delong_variance
        se = df = np.full_like(difference, np.nan)
    p_value = _t_p(difference, se, df)
    half = _t_ppf((1 + confidence) / 2, df) * se
    seed_half = _t_ppf((1 + confidence) / 2, k - 1) * np.sqrt(train_variance) if k > 1 else np.nan * difference
    out = {
        "n_pairs": k, "mean_difference": difference,
        "seed_ci_low": difference - seed_half, "seed_ci_high": difference + seed_half,
        "p_seeds": _t_p(difference, np.sqrt(train_variance), np.full_like(difference, k - 1.0)) if k > 1 else np.nan,
        "se_train": np.sqrt(train_variance), "se_test": np.sqrt(test_variance), "se_delong": np.sqrt(delong_variance),
        "p_delong": _t_p(difference, np.sqrt(delong_variance), np.full_like(difference, np.inf)),
        "var_seed": var_seed, "var_seed_case": seed_case, "var_test": shared,
        "se": se, "df": df, "ci_low": difference - half, "ci_high": difference + half, "p_value": p_value,
    }  # fmt: skip
    return {key: _scalar(value) for key, value in out.items()}


def _scalar(value):
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def degrees_of_freedom(train_variance, test_variance, k: int):
    """Degrees of freedom of the t of a comparison with ``k`` seeds: Satterthwaite's, from an upper bound.

    The seed part ``s^2 / k`` is estimated from ``k - 1`` df, DeLong's test-set part from hundreds of cases (taken
    as known). Satterthwaite's formula with the estimate itself gives many df exactly when ``s^2`` happens to be small
    and the t-statistic large; using the one-sided ``SEED_VARIANCE_BOUND`` upper confidence bound of ``s^2``
    (``s^2 (k - 1) / chi2_{1 - bound}(k - 1)``) in its place keeps the interval calibrated at the small levels the
    verdicts are read at (tests/test_calibration.py). Between ``k - 1`` (seed part dominant) and infinity.
    """
    train_variance, test_variance = np.asarray(train_variance, float), np.asarray(test_variance, float)
    if k < 2:
        return np.full(np.broadcast(train_variance, test_variance).shape, np.nan)[()]
    upper = train_variance * (k - 1) / sps.chi2.ppf(1 - SEED_VARIANCE_BOUND, k - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(upper > 0, (upper + test_variance) ** 2 * (k - 1) / upper**2, np.inf)
    return df[()] if df.ndim == 0 else df


def _t_sf(x, df):
    """Student's t survival function, ``scipy.stats.t.sf(x, df)``: the same function (``stdtr``) without the per-call
    argument handling of ``scipy.stats``, equal to it everywhere (NaN and infinite df included) and about 50 times
    faster on one value; verdicts, and the simulations that calibrate them, call it 10^5 times."""
    return special.stdtr(df, -np.asarray(x, float))


def _t_ppf(q, df):
    """Student's t quantile, ``scipy.stats.t.ppf(q, df)`` for ``0 < q <= 1`` (equal there; at ``q = 0``
    ``stdtrit`` gives +inf, ``scipy.stats`` -inf): the same function as :func:`_t_sf`'s, for the same reason."""
    return special.stdtrit(df, q)


def _t_p(difference, se, df):
    """Two-sided p of ``difference / se`` on t with ``df`` (NaN where se is 0 or NaN: no test is possible)."""
    difference, se, df = np.broadcast_arrays(*(np.asarray(x, float) for x in (difference, se, df)))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * _t_sf(np.abs(difference) / se, df), np.nan)
    return p[()] if p.ndim == 0 else p


# ---------------------------------------------------------------------------------------------------------------
# Verdicts: the testing order (gatekeepers first), the levels each row is tested at, looks, and the decision.
# ---------------------------------------------------------------------------------------------------------------

SPENDING = ("obrien_fleming", "pocock")


def alpha_spent(information: float, alpha: float = ALPHA, kind: str = "obrien_fleming") -> float:
    """Cumulative error spent at information fraction ``information`` (seeds so far / max seeds), Lan & DeMets (1983).

    ``obrien_fleming``: ``2 - 2 Phi(z_{1-alpha/2} / sqrt(t))`` (little early, most at the end);
    ``pocock``: ``alpha ln(1 + (e - 1) t)`` (evenly). Both reach ``alpha`` at ``t = 1``.
    """
    t = min(max(float(information), 0.0), 1.0)
    if t == 0:
        return 0.0
    if kind == "obrien_fleming":
        return float(2 - 2 * sps.norm.cdf(sps.norm.ppf(1 - alpha / 2) / math.sqrt(t)))
    if kind == "pocock":
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"unknown spending function {kind!r}; one of {SPENDING}")


def look_levels(n_seeds_by_look, max_seeds: int, alpha: float = ALPHA, kind: str = "obrien_fleming") -> list[float]:
    """The error each look may spend: the increments of :func:`alpha_spent` at ``n / max_seeds``; they sum to at
    most ``alpha`` (exactly ``alpha`` when the last look has ``max_seeds``). A claim made at any look stands, so the
    family-wise error over all looks is at most the sum (Bonferroni over looks: valid for any stopping rule)."""
    spent = [alpha_spent(n / max_seeds, alpha, kind) for n in n_seeds_by_look]
    return [b - a for a, b in zip([0.0, *spent[:-1]], spent)]


def gatekeeping_levels(stages, p_values, alpha: float, rejected=None) -> tuple[np.ndarray, np.ndarray]:
    """Serial gatekeeping with Holm's procedure inside each stage (a graphical procedure, Bretz et al. 2009).

    ``stages``: one stage index per hypothesis (0 = tested first). The whole ``alpha`` starts on stage 0; a stage
    is tested by Holm's step-down procedure at the error it holds and, once every hypothesis in it is rejected,
    passes all of it to the next stage; a later stage is tested only then (its level is 0 until then).
    ``rejected``: hypotheses already rejected (at an earlier look), whose error passes on as if rejected now.
    Returns ``(levels, rejected)``: the level each hypothesis was last tested at (0 = never reached) and which are
    rejected (``p <= level``). NaN p-values never reject (their stage does not pass its error on).
    Family-wise error: at most ``alpha`` for any configuration of true hypotheses (Bonferroni-based closed testing).
    """
    stages = np.asarray(stages, int)
    p = np.asarray(p_values, float)
    done = np.zeros(p.size, bool) if rejected is None else np.asarray(rejected, bool).copy()
    levels = np.zeros(p.size)
    budget = alpha
    for stage in sorted(set(stages.tolist())):
        members = np.flatnonzero(stages == stage)
        while True:
            open_ = [i for i in members if not done[i]]
            if not open_:
                break
            level = budget / len(open_)
            levels[open_] = level
            first = min(open_, key=lambda i: p[i] if np.isfinite(p[i]) else np.inf)  # Holm: smallest p first
            if not (np.isfinite(p[first]) and p[first] <= level):
                return levels, done
            done[first] = True
    return levels, done


def tost_p(difference, se, df, margin: float = MARGIN):
    """p-value of the two one-sided tests that the true difference lies inside ``(-margin, +margin)`` (NaN if se is
    0 or NaN): rejecting at ``a`` is the ``1 - 2a`` interval lying inside the margins."""
    difference, se, df = (np.asarray(x, float) for x in (difference, se, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, np.maximum(_t_sf((difference + margin) / se, df),
                                        _t_sf((margin - difference) / se, df)), np.nan)  # fmt: skip
    return p[()] if p.ndim == 0 else p


def decide(difference: float, se: float, df: float, level: float, margin: float = MARGIN,
           equivalence_level: float | None = None) -> dict:
    """The verdict of one comparison tested at ``level`` (difference) and ``equivalence_level`` (equivalence).

    ``helps`` / ``hurts``: the two-sided ``1 - level`` interval excludes 0. Else ``equivalent``: the exact two
    one-sided tests at ``equivalence_level`` (default ``level``) reject, i.e. the ``1 - 2 equivalence_level``
    interval lies inside ``(-margin, +margin)``. Else ``inconclusive``. Returns the interval that decides it
    (``interval``: ``"difference"`` or ``"equivalence"``), its confidence, half-width and the TOST p-value.
    Named outcomes instead of a verdict (``verdict`` = ``n/a``, ``reason`` says why): one seed (no seed variance:
    ``se``/``df`` NaN), a standard error of 0 (every seed gave the same difference: nothing to test), or a row never
    reached by the testing order (``level`` 0: ``inconclusive`` with reason).
    """
    equivalence_level = level if equivalence_level is None else equivalence_level
    nan = {"ci_low": math.nan, "ci_high": math.nan, "half_width": math.nan, "p_tost": math.nan,
           "interval": "", "interval_confidence": math.nan}  # fmt: skip
    if not np.isfinite(se) or np.isnan(df):
        return {**nan, "verdict": NOT_APPLICABLE, "reason": "one seed: no training variance, no verdict"}
    if se <= 0:
        return {**nan, "verdict": NOT_APPLICABLE, "reason": "standard error 0: every seed gave the same difference"}
    p_tost = float(tost_p(difference, se, df, margin))
    out = {"p_tost": p_tost}
    if level > 0:
        half = float(_t_ppf(1 - level / 2, df) * se)
        out.update(ci_low=difference - half, ci_high=difference + half, half_width=half, interval="difference",
                   interval_confidence=1 - level)  # fmt: skip
        if difference - half > 0 or difference + half < 0:
            return {**out, "verdict": HELPS if difference > 0 else HURTS, "reason": ""}
    if equivalence_level > 0:
        half = float(_t_ppf(1 - equivalence_level, df) * se)
        if -margin < difference - half and difference + half < margin:
            return {**out, "ci_low": difference - half, "ci_high": difference + half, "half_width": half,
                    "interval": "equivalence", "interval_confidence": 1 - 2 * equivalence_level,
                    "verdict": EQUIVALENT, "reason": ""}  # fmt: skip
    if level > 0:
        return {**out, "verdict": INCONCLUSIVE, "reason": ""}
    if equivalence_level > 0:
        return {**out, "ci_low": difference - half, "ci_high": difference + half, "half_width": half,
                "interval": "equivalence", "interval_confidence": 1 - 2 * equivalence_level,
                "verdict": INCONCLUSIVE, "reason": "tested for equivalence only (its gate passed for equivalence)"}
    return {**nan, **out, "verdict": INCONCLUSIVE, "reason": "not tested: its gate did not pass"}


def one_sided_p(difference, se, df):
    """p-value of the one-sided test that the true difference is at most 0 (the positive control's: does it help?)."""
    difference, se, df = (np.asarray(x, float) for x in (difference, se, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, _t_sf(difference / se, df), np.nan)
    return p[()] if p.ndim == 0 else p


STAGES = {POSITIVE_CONTROL: 0, PRIMARY: 1, SECONDARY: 2}


def family_verdicts(differences, ses, dfs, roles, *, alpha: float = ALPHA, margin: float = MARGIN,
                    rejected=None) -> list[dict]:
    """Every verdict of one model's family of comparisons at one look, in the pre-specified testing order.

    Two families of claims, each a serial gatekeeping procedure (:func:`gatekeeping_levels`) over the stages
    positive controls -> primary (the study's question) -> secondary, each at family-wise error ``alpha``:

    * **difference** claims (``helps`` / ``hurts``): a positive control's one-sided test that it helps, then the
      two-sided tests of the rest;
    * **equivalence** claims: the same positive controls as the gate (equivalence means something only in a design
      shown able to detect a benefit: assay sensitivity, ICH E10), then the exact TOST of the rest.

    A row can hold at most one wrong claim (a difference of 0 is inside the margin; one outside it is not 0), and a
    stage passes its error on only when all of it is rejected, so the headline is tested at the full ``alpha``
    whenever the positive controls pass. ``rejected`` = ``(difference, equivalence)`` boolean arrays of claims made
    at earlier looks (they stand, and pass their error on). A positive control's verdict is ``helps`` or
    ``inconclusive`` (its claim is one-sided). Returns per row :func:`decide`'s dict plus ``level``,
    ``equivalence_level``, ``p_value`` (the p its difference claim is tested by) and the two rejection flags.
    """
    differences, ses, dfs = (np.asarray(x, float) for x in (differences, ses, dfs))
    roles = list(roles)
    stages = [STAGES[r] for r in roles]
    control = np.array([r == POSITIVE_CONTROL for r in roles])
    one_sided = one_sided_p(differences, ses, dfs)
    p_difference = np.where(control, one_sided, _t_p(differences, ses, dfs))
    p_equivalence = np.where(control, one_sided, tost_p(differences, ses, dfs, margin))
    before_d, before_e = (None, None) if rejected is None else rejected
    levels, rejected_d = gatekeeping_levels(stages, p_difference, alpha, before_d)
    equivalence_levels, rejected_e = gatekeeping_levels(stages, p_equivalence, alpha, before_e)
    out = []
    for i in range(len(roles)):
        if control[i]:
            row = decide_one_sided(differences[i], ses[i], dfs[i], levels[i])
        else:
            row = decide(differences[i], ses[i], dfs[i], levels[i], margin, equivalence_levels[i])
        out.append({**row, "level": float(levels[i]), "equivalence_level": float(equivalence_levels[i]),
                    "p_value": float(p_difference[i]), "rejected_difference": bool(rejected_d[i]),
                    "rejected_equivalence": bool(rejected_e[i])})  # fmt: skip
    return out


def adjusted_p(p_values, roles, tolerance: float = 1e-6) -> np.ndarray:
    """Adjusted p-values of the difference claims under the testing order (:func:`family_verdicts`): the smallest
    family-wise alpha at which each would be rejected (bisection; the procedure is monotone in alpha); 1 if never."""
    p = np.asarray(p_values, float)
    stages = [STAGES[r] for r in roles]
    out = np.ones(p.size)
    for i in range(p.size):
        if not np.isfinite(p[i]):
            out[i] = np.nan
            continue
        low, high = 0.0, 1.0
        if not gatekeeping_levels(stages, p, high)[1][i]:
            continue
        while high - low > tolerance:
            middle = (low + high) / 2
            low, high = (low, middle) if gatekeeping_levels(stages, p, middle)[1][i] else (middle, high)
        out[i] = high
    return out


def decide_one_sided(difference: float, se: float, df: float, level: float) -> dict:
    """A positive control's verdict: ``helps`` when the one-sided ``1 - level`` lower bound exceeds 0, else
    ``inconclusive`` (the design has not shown it can detect a benefit); the interval is ``[low, +inf)``."""
    base = decide(difference, se, df, 0.0, equivalence_level=0.0)
    if base["verdict"] == NOT_APPLICABLE or level <= 0:
        return base
    half = float(_t_ppf(1 - level, df) * se)
    verdict = HELPS if difference - half > 0 else INCONCLUSIVE
    return {**base, "ci_low": difference - half, "ci_high": math.inf, "half_width": half, "interval": "one-sided",
            "interval_confidence": 1 - level, "verdict": verdict, "reason": ""}


def minimum_detectable_difference(se: float, df: float = math.inf, alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true difference the two-sided t-test at ``alpha`` (``df`` degrees of freedom, as the verdict's test)
    detects with probability ``power``, given the standard error ``se``: the noncentral t's power solved exactly."""
    if not (np.isfinite(se) and se > 0 and alpha > 0) or np.isnan(df):
        return math.nan
    critical = _t_ppf(1 - alpha / 2, df) if np.isfinite(df) else sps.norm.ppf(1 - alpha / 2)

    def shortfall(shift):
        if np.isfinite(df):  # the far tail is negligible (and NaN in scipy's nct for some large shifts)
            reach = sps.nct.sf(critical, df, shift) + np.nan_to_num(sps.nct.cdf(-critical, df, shift))
        else:
            reach = sps.norm.sf(critical - shift) + sps.norm.cdf(-critical - shift)
        return reach - power

    high = critical + 4.0
    while shortfall(high) < 0:
        high *= 2
    from scipy.optimize import brentq

    return float(brentq(shortfall, 0.0, high) * se)


def projected_half_width(var_seed: float, var_seed_case: float, var_test: float, *, n_seeds: int, case_factor: float,
                         level: float) -> float:
    """Half-width of the interval at confidence ``1 - level`` with ``n_seeds`` seeds and ``case_factor`` times as many
    test cases, from the measured per-seed variance components (test-set parts shrink as 1 / cases)."""
    seed_part = (var_seed + var_seed_case / case_factor) / n_seeds
    test_part = var_test / case_factor
    df = degrees_of_freedom(seed_part, test_part, n_seeds)
    return float(_t_ppf(1 - level / 2, df) * math.sqrt(seed_part + test_part))


def _z_test(difference: float, variance: float, df: float = math.inf) -> dict:
    """Two-sided test of ``difference`` = 0 with standard error ``sqrt(variance)`` (normal, or t with ``df``)."""
    se = float(np.sqrt(max(variance, 0.0)))
    if se == 0:  # identical scores: no difference at all (p 1), or an exact one
        return {"difference": difference, "se": se, "p_value": 1.0 if difference == 0 else 0.0}
    return {"difference": difference, "se": se, "p_value": float(_t_p(difference, se, df))}
