"""The experiment's answer: every run's metrics, mean ± sd per arm and model, and a verdict per question asked.

Seeds are replicates, so results are means over seeds with their spread. The comparisons (:func:`comparison_pairs`)
open with the study's question, ``combined`` (GAN images on top of classic augmentation) against ``augmented``,
then each arm that adds GAN images against its own base and its two equal-count controls on that base, classic
augmentation against baseline, and TSTR. Each is the seed-paired AUC difference on the shared test cases, with
training and test-set variance each counted once (:func:`synthaug.stats.two_source_comparison`). Holm's
step-down procedure runs over every comparison of a model; each interval is printed at the level Holm tested it
at and decides the verdict: ``helps`` / ``hurts`` / ``equivalent`` (inside ``experiment.margin``) / ``inconclusive``.
The best seed is listed too, labelled for what it is (a best-of-trials figure, not an estimate), beside the
study's Table I. For the phantom, the Bayes-optimal AUC on the test cases is the ceiling no classifier can beat.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from .arm_names import CONTROLS, Arm
from .constants import METRIC_KEYS
from .errors import DataError
from .io import read_csv
from .metrics import roc_auc
from .stats import (
    ALPHA,
    CONFIDENCE,
    EQUIVALENT,
    HELPS,
    HURTS,
    INCONCLUSIVE,
    MARGIN,
    POWER,
    decide,
    holm,
    holm_levels,
    mcnemar_exact,
    minimum_detectable_difference,
    paired_comparison,
    projected_half_width,
    t_interval,
    two_source_comparison,
)

BASELINE = "baseline"
RUN_COLUMNS = ("arm", "kind", "generator", "ratio", "fraction", "model", "seed")
SUMMARY_KEYS = (*METRIC_KEYS, "train_auc")
TABLE_METRICS = ("train_accuracy", "accuracy", "auc", "sensitivity", "specificity")
TABLE_HEADERS = ("train accuracy", "test accuracy", "AUC", "sensitivity", "specificity")
COMPARISON_COLUMNS = (
    "arm", "control", "model", "question", "n_pairs", "auc_arm", "auc_control", "mean_difference", "ci_low", "ci_high",
    "confidence", "half_width", "margin", "p_value", "p_holm", "p_tost", "verdict", "seed_ci_low", "seed_ci_high",
    "p_seeds", "se_train", "se_test", "p_delong", "se", "df", "var_seed", "var_seed_case", "var_test", "mdd",
    "mdd_holm", "sensitivity_difference", "sensitivity_ci_low", "sensitivity_ci_high", "specificity_difference",
    "specificity_ci_low", "specificity_ci_high", "accuracy_difference", "mcnemar_significant", "p_mcnemar_median",
)  # fmt: skip
# The study's Table I (test accuracy, AUC), for comparison.
STUDY_TABLE_I = (
    ("InceptionResNetV2", 0.71, 0.75),
    ("InceptionResNetV2 + CGAN, average of trials", 0.71, 0.76),
    ("InceptionResNetV2 + CGAN, best trial (a best-of-trials figure, not an estimate)", 0.86, 0.89),
)


def _run_dir(path: Path) -> tuple[str, str, int]:
    arm, model, seed_dir = path.parts[-4:-1]
    if not seed_dir.startswith("seed"):
        raise DataError(path, "expected a path .../{arm}/{model}/seed{seed}/" + path.name)
    return arm, model, int(seed_dir[4:])


def read_run_metrics(paths) -> pd.DataFrame:
    """One row per run from ``.../evaluation/{arm}/{model}/seed{seed}/metrics.json``, confusion counts flattened;
    the arm name is parsed into ``kind``, ``generator`` (empty where none), ``ratio`` (NaN) and ``fraction``."""
    rows = []
    for path in map(Path, paths):
        arm, model, seed = _run_dir(path)
        try:
            values = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(path, f"not a readable metrics file ({exc}); delete it and rerun evaluate_classifier") from exc
        missing = [k for k in (*METRIC_KEYS, "n_test", "confusion_matrix") if k not in values]
        if missing:
            raise DataError(path, f"missing keys {missing}; delete it and rerun evaluate_classifier")
        (tn, fp), (fn, tp) = values.pop("confusion_matrix")
        spec = Arm.parse(arm)
        rows.append({"arm": arm, "kind": spec.kind, "generator": spec.generator or "",
                     "ratio": math.nan if spec.ratio is None else spec.ratio, "fraction": spec.fraction,
                     "model": model, "seed": seed, **values, "tn": tn, "fp": fp, "fn": fn, "tp": tp})  # fmt: skip
    return pd.DataFrame(rows).sort_values(["model", "arm", "seed"], ignore_index=True)


def read_predictions(paths) -> dict[tuple[str, str, int], pd.DataFrame]:
    """``(arm, model, seed) -> predictions.csv`` (case_id, label, probability, prediction), indexed by case_id."""
    out = {}
    for path in map(Path, paths):
        table = read_csv(path, required=("case_id", "label", "probability", "prediction"), dtype={"case_id": str})
        out[_run_dir(path)] = table.set_index("case_id")
    return out


def read_histories(paths) -> pd.DataFrame:
    """Every run's history.csv (one row per epoch) with its arm, model and seed."""
    tables = [read_csv(p, required=("epoch", "val_auc")).assign(**dict(zip(("arm", "model", "seed"), _run_dir(Path(p)))))
              for p in paths]  # fmt: skip
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def _ordered(groups, arms, models):
    """(arm, model) pairs in the experiment's order (models outer), only those that ran."""
    return [(arm, model) for model in models for arm in arms if (arm, model) in groups]


def summary_table(metrics: pd.DataFrame, arms, models) -> pd.DataFrame:
    """One row per (arm, model): n_seeds, mean and sd (ddof=1) of each metric, the t-interval of the mean AUC,
    and the overfitting gaps (train minus test accuracy and AUC; train = the real training images)."""
    metrics = _with_gaps(metrics)
    groups = dict(list(metrics.groupby(["arm", "model"])))
    rows = []
    for arm, model in _ordered(groups, arms, models):
        runs = groups[(arm, model)]
        row = {"arm": arm, "model": model, "n_seeds": len(runs), **runs.iloc[0][list(RUN_COLUMNS[1:5])].to_dict()}
        for key in (*SUMMARY_KEYS, "accuracy_gap", "auc_gap"):
            values = runs[key].to_numpy(float) if key in runs else np.full(len(runs), np.nan)
            row[f"{key}_mean"] = values.mean()
            row[f"{key}_sd"] = values.std(ddof=1) if len(values) > 1 else math.nan
        _, row["auc_ci_low"], row["auc_ci_high"] = t_interval(runs["auc"], CONFIDENCE)
        rows.append(row)
    return pd.DataFrame(rows)


def _with_gaps(metrics: pd.DataFrame) -> pd.DataFrame:
    train_auc = metrics["train_auc"] if "train_auc" in metrics else np.nan
    return metrics.assign(accuracy_gap=metrics["train_accuracy"] - metrics["accuracy"],
                          auc_gap=train_auc - metrics["auc"])  # fmt: skip


def comparison_pairs(arms, ratio: float | None = None) -> list[tuple[str, str, str]]:
    """``(arm, control, question)`` of every comparison the experiment's arms allow, in the order table.md gives them.

    First the study's question for each generator (``combined`` vs ``augmented``: do GAN images help on top of
    classic augmentation?), then per generator ``combined`` against its equal-count controls on the augmented base,
    ``synthetic`` against baseline and its controls on the real base, then classic augmentation against baseline,
    then TSTR. With ``ratio`` (classifier.synthetic_ratio) only arms at that ratio are compared: the dose sweep's
    other ratios are shown in dose_response.png and the test metrics, and stay out of Holm's family so that they do
    not widen the headline's interval. Learning-curve subsets answer another question and are not compared either.
    """
    specs = [spec for spec in map(Arm.parse, arms)
             if spec.fraction == 1 and (ratio is None or spec.ratio in (None, ratio))]  # fmt: skip
    present = {spec.name for spec in specs}
    rows = []

    def add(arm, control, question):
        if arm in present and control in present and (arm, control) not in {(a, c) for a, c, _ in rows}:
            rows.append((arm, control, question))

    for spec in specs:
        if spec.kind == "combined":
            add(spec.name, "augmented", f"Do {spec.generator} images help on top of classic augmentation?")
    for spec in sorted((s for s in specs if s.kind in CONTROLS), key=lambda s: list(CONTROLS).index(s.kind)):
        more_augmented, more_real = (Arm(k, ratio=spec.ratio).name for k in CONTROLS[spec.kind])
        on = " on top of classic augmentation" if spec.kind == "combined" else ""
        if spec.kind == "synthetic":  # combined's own base (augmented) is the study's question, asked above
            add(spec.name, BASELINE, f"Do {spec.generator} images help without classic augmentation?")
        add(spec.name, more_augmented, f"Do {spec.generator} images beat as many more augmented copies{on}?")
        add(spec.name, more_real, f"Are {spec.generator} images as good as as many real images of new "
                                  f"patients{on}? (the oracle)")  # fmt: skip
    add("augmented", BASELINE, "Does classic augmentation help?")
    for spec in specs:
        if spec.kind == "synthetic_only":
            add(spec.name, BASELINE, f"Can {spec.generator} images replace the real ones? (TSTR)")
    return rows


def compare(metrics, predictions, pairs, models, alpha: float = ALPHA, power: float = POWER,
            margin: float = MARGIN) -> pd.DataFrame:
    """Seed-paired comparisons ``(arm, control, question)`` per model: both sources of variance, Holm's family =
    every comparison of the model, each interval at its Holm level, the verdict read from it, and power."""
    rows = []
    for model in models:
        runs = metrics[metrics["model"] == model]
        family = []
        for arm, control, question in pairs:
            treatment = runs[runs["arm"] == arm].set_index("seed")
            reference = runs[runs["arm"] == control].set_index("seed")
            seeds = sorted(set(treatment.index) & set(reference.index))
            if seeds:
                row = _compare_pair(arm, control, model, seeds, treatment["auc"], reference["auc"], predictions, alpha)
                row.update(question=question, **_threshold_differences(treatment.loc[seeds], reference.loc[seeds]))
                family.append(row)
        p_values = [r["p_value"] for r in family]
        for row, p_holm, level in zip(family, holm(p_values), holm_levels(p_values, alpha)):
            decision = decide(row["mean_difference"], row["se"], row["df"], level, margin)
            row.update(p_holm=p_holm, confidence=1 - level, margin=margin, **decision,
                       mdd=minimum_detectable_difference(row["se"], row["df"], alpha, power),
                       mdd_holm=minimum_detectable_difference(row["se"], row["df"], alpha / len(family), power))
        rows += family
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _threshold_differences(treatment: pd.DataFrame, control: pd.DataFrame) -> dict:
    """Seed-paired differences of sensitivity and specificity (at each run's validation-chosen threshold)."""
    out = {}
    for key in ("sensitivity", "specificity"):
        result = paired_comparison(treatment[key].to_numpy(float), control[key].to_numpy(float))
        out.update({f"{key}_difference": result["mean_difference"], f"{key}_ci_low": result["ci_low"],
                    f"{key}_ci_high": result["ci_high"]})  # fmt: skip
    return out


def _compare_pair(arm, control, model, seeds, treatment_auc, control_auc, predictions, alpha) -> dict:
    reference = predictions[(control, model, seeds[0])]
    cases, labels = reference.index, reference["label"].to_numpy(int)

    def scores(name):
        tables = [predictions[(name, model, s)] for s in seeds]
        for table in tables:
            if set(table.index) != set(cases) or not np.array_equal(table.loc[cases, "label"], labels):
                raise DataError(f"results/evaluation/{name}/{model}", "runs were evaluated on different test cases; "
                                "rerun evaluate_classifier for every run")  # fmt: skip
        return np.array([t.loc[cases, "probability"].to_numpy(float) for t in tables]), tables

    treatment_scores, treatment_tables = scores(arm)
    control_scores, control_tables = scores(control)
    result = two_source_comparison(treatment_auc[seeds].to_numpy(), control_auc[seeds].to_numpy(), labels,
                                   treatment_scores, control_scores)  # fmt: skip
    mcnemar = [mcnemar_exact(t.loc[cases, "prediction"].to_numpy() == labels,
                             c.loc[cases, "prediction"].to_numpy() == labels)["p_value"]
               for t, c in zip(treatment_tables, control_tables)]  # fmt: skip
    accuracy = [np.mean(t.loc[cases, "prediction"].to_numpy() == labels) - np.mean(c.loc[cases, "prediction"] == labels)
                for t, c in zip(treatment_tables, control_tables)]  # fmt: skip
    return {
        "arm": arm, "control": control, "model": model, **result,
        "auc_arm": float(treatment_auc[seeds].mean()), "auc_control": float(control_auc[seeds].mean()),
        "accuracy_difference": float(np.mean(accuracy)),
        "mcnemar_significant": f"{sum(p < alpha for p in mcnemar)}/{len(mcnemar)}",
        "p_mcnemar_median": float(np.median(mcnemar)),
    }  # fmt: skip


GAP_VERDICTS = {HELPS: "more overfitting", HURTS: "less overfitting", EQUIVALENT: EQUIVALENT,
                INCONCLUSIVE: INCONCLUSIVE}  # a larger train - test gap than baseline's is more overfitting


def overfitting_table(metrics: pd.DataFrame, arms, models, alpha: float = ALPHA, margin: float = MARGIN) -> pd.DataFrame:
    """Per arm: the train-test gap (accuracy, AUC) and its seed-paired difference from baseline's AUC gap, with the
    verdicts' rules (a family of its own per model: Holm, interval at the Holm level, ``margin``)."""
    metrics = _with_gaps(metrics)
    rows = []
    for model in models:
        runs = metrics[metrics["model"] == model]
        control = runs[runs["arm"] == BASELINE].set_index("seed")
        family = []
        for arm in arms:
            own = runs[runs["arm"] == arm].set_index("seed")
            if own.empty:
                continue
            row = {"arm": arm, "model": model, "accuracy_gap": own["accuracy_gap"].mean(),
                   "auc_gap": own["auc_gap"].mean()}  # fmt: skip
            seeds = sorted(set(own.index) & set(control.index))
            if arm != BASELINE and len(seeds) > 1 and own["auc_gap"].notna().all():
                differences = own.loc[seeds, "auc_gap"].to_numpy(float) - control.loc[seeds, "auc_gap"].to_numpy(float)
                row.update(gap_difference=float(differences.mean()), p_value=float(sps.ttest_1samp(differences, 0).pvalue),
                           se=float(np.std(differences, ddof=1) / np.sqrt(len(seeds))), df=len(seeds) - 1)
                family.append(row)
            elif arm != BASELINE:
                row["gap_verdict"] = "n/a (one seed)"
            rows.append(row)
        p_values = [r["p_value"] for r in family]
        for row, p_holm, level in zip(family, holm(p_values), holm_levels(p_values, alpha)):
            decision = decide(row["gap_difference"], row["se"], row["df"], level, margin)
            row.update(gap_ci_low=decision["ci_low"], gap_ci_high=decision["ci_high"], gap_confidence=1 - level,
                       p_holm=p_holm, gap_verdict=GAP_VERDICTS[decision["verdict"]])  # fmt: skip
    return pd.DataFrame(rows, columns=["arm", "model", "accuracy_gap", "auc_gap", "gap_difference", "gap_ci_low",
                                       "gap_ci_high", "gap_confidence", "p_holm", "gap_verdict"])  # fmt: skip


def best_seeds(metrics: pd.DataFrame) -> pd.DataFrame:
    """The seed with the highest test AUC per (arm, model): a best-of-trials figure, not an estimate."""
    best = metrics.loc[metrics.groupby(["arm", "model"])["auc"].idxmax()]
    return best[["arm", "model", "seed", "accuracy", "auc"]].reset_index(drop=True)


def bayes_ceiling(split_path, ground_truth_path) -> float:
    """AUC of the phantom's true P(malignant) on the test cases: the best any classifier can do there."""
    split = read_csv(split_path, required=("case_id", "split"))
    truth = read_csv(ground_truth_path, required=("case_id", "p_malignant", "label"))
    test = split.loc[split["split"] == "test", ["case_id"]].merge(truth, on="case_id", how="left")
    if test.empty or test["p_malignant"].isna().any():
        raise DataError(ground_truth_path, "has no p_malignant for some test cases of the split; rerun the phantom")
    return roc_auc(test["label"].to_numpy(int), test["p_malignant"].to_numpy(float))


def n_training_images(split_path) -> int:
    """Real training images (the unit of every arm's extra-image count)."""
    return int((read_csv(split_path, required=("case_id", "split"))["split"] == "train").sum())


def describe_arm(arm: str, n_real: int) -> str:
    """What ``arm`` trains on, in words with counts (e.g. 'real + 595 cgan images')."""
    spec = Arm.parse(arm)
    extra = spec.extra_images(n_real)
    return {
        "baseline": f"real ({spec.fraction:.0%} of the training patients)" if spec.fraction != 1 else "real",
        "augmented": "real + every augmented copy",
        "synthetic": f"real + {extra} {spec.generator} images",
        "combined": f"real + augmented copies + {extra} {spec.generator} images",
        "augmented_equal": f"real + {extra} augmented copies (equal-count control)",
        "more_real": f"real + {extra} extra real images (oracle)",
        "augmented_extra": f"real + augmented copies + {extra} further augmented copies (equal-count control)",
        "augmented_more_real": f"real + augmented copies + {extra} extra real images (oracle)",
        "synthetic_only": f"{extra} {spec.generator} images only (TSTR)",
    }[spec.kind]


DESIGN_SEEDS = (1, 2, 4, 8)  # multiples of the run's seeds
DESIGN_CASES = (1, 2, 4)  # multiples of the run's test cases


def design_table(comparison: pd.DataFrame, n_test: int, margin: float = MARGIN) -> pd.DataFrame:
    """Per model, for its first (headline) comparison: the interval's half-width with more seeds and test cases,
    projected from the measured variance components at the same Holm level; ``reaches`` = half-width <= margin / 2.

    Training variance shrinks with seeds only; the test-set part and the seed x case part shrink with test cases
    (both are sampling variance of the test patients, about proportional to 1 / cases).
    """
    rows = []
    for model, group in comparison.groupby("model", sort=False):
        head = group.iloc[0]
        level = 1 - head["confidence"]
        components = [head[k] if np.isfinite(head[k]) else 0.0 for k in ("var_seed", "var_seed_case", "var_test")]
        for seeds_factor in DESIGN_SEEDS:
            for cases_factor in DESIGN_CASES:
                n_seeds = int(head["n_pairs"]) * seeds_factor
                half = projected_half_width(*components, n_seeds=n_seeds, case_factor=cases_factor, level=level)
                rows.append({"model": model, "arm": head["arm"], "control": head["control"], "n_seeds": n_seeds,
                             "n_test": n_test * cases_factor, "half_width": half, "reaches": half <= margin / 2})
    return pd.DataFrame(rows, columns=["model", "arm", "control", "n_seeds", "n_test", "half_width", "reaches"])
