"""The experiment's answer: every run's metrics, mean ± sd per arm and model, and whether each arm beats baseline.

Seeds are replicates, so results are means over seeds with their spread. Each arm is compared with ``baseline``
of the same model (and each synthetic arm with its equal-count controls) by the seed-paired AUC difference, with
two sources of variance reported apart and combined (:func:`synthaug.stats.two_source_comparison`): training
variance over seeds, and test-set variance by DeLong's test on the shared test cases. Holm's correction runs over
the arms compared per model and family; the verdict is ``helps`` / ``no detectable difference`` / ``hurts``.
The best seed is listed too, labelled for what it is (a best-of-trials figure, not an estimate), beside the
study's Table I. For the phantom, the Bayes-optimal AUC on the test cases is the ceiling no classifier can beat.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .arm_names import Arm
from .constants import METRIC_KEYS
from .errors import DataError
from .io import read_csv
from .metrics import roc_auc
from .stats import (
    ALPHA,
    CONFIDENCE,
    POWER,
    holm,
    mcnemar_exact,
    minimum_detectable_difference,
    paired_comparison,
    t_interval,
    two_source_comparison,
    verdict,
)

BASELINE = "baseline"
RUN_COLUMNS = ("arm", "kind", "generator", "ratio", "fraction", "model", "seed")
SUMMARY_KEYS = (*METRIC_KEYS, "train_auc")
TABLE_METRICS = ("train_accuracy", "accuracy", "auc", "sensitivity", "specificity")
TABLE_HEADERS = ("train accuracy", "test accuracy", "AUC", "sensitivity", "specificity")
COMPARISON_COLUMNS = (
    "arm", "control", "model", "n_pairs", "auc_arm", "auc_control", "mean_difference", "ci_low", "ci_high",
    "seed_ci_low", "seed_ci_high", "p_seeds", "se_train", "se_test", "p_delong", "se", "df", "p_value", "p_holm", "verdict",
    "mdd", "accuracy_difference", "mcnemar_significant", "p_mcnemar_median",
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


def comparison_table(metrics, predictions, arms, models, alpha: float = ALPHA, power: float = POWER) -> pd.DataFrame:
    """Each arm against ``baseline`` of the same model (Holm over the arms of each model); the learning curve's
    baseline subsets answer another question (is the classifier data-limited?) and are not in the family."""
    pairs = [(arm, BASELINE) for arm in arms if arm != BASELINE and Arm.parse(arm).fraction == 1]
    return compare(metrics, predictions, pairs, models, alpha, power)


def control_pairs(arms) -> list[tuple[str, str]]:
    """Each synthetic arm against the controls that add as many images: augmented_equal and more_real."""
    names = set(arms)
    pairs = []
    for arm in arms:
        spec = Arm.parse(arm)
        if spec.kind == "synthetic":
            pairs += [(arm, Arm(k, ratio=spec.ratio).name) for k in ("augmented_equal", "more_real")
                      if Arm(k, ratio=spec.ratio).name in names]  # fmt: skip
    return pairs


def compare(metrics, predictions, pairs, models, alpha: float = ALPHA, power: float = POWER) -> pd.DataFrame:
    """Seed-paired comparisons ``(arm, control)`` per model: both sources of variance, Holm per model, verdicts."""
    rows = []
    for model in models:
        runs = metrics[metrics["model"] == model]
        family = []
        for arm, control in pairs:
            treatment_auc = runs[runs["arm"] == arm].set_index("seed")["auc"]
            control_auc = runs[runs["arm"] == control].set_index("seed")["auc"]
            seeds = sorted(set(treatment_auc.index) & set(control_auc.index))
            if seeds:
                family.append(_compare_pair(arm, control, model, seeds, treatment_auc, control_auc, predictions,
                                            alpha, power))  # fmt: skip
        for row, p_holm in zip(family, holm([r["p_value"] for r in family])):
            row.update(p_holm=p_holm, verdict=verdict(row["mean_difference"], p_holm, alpha))
        rows += family
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _compare_pair(arm, control, model, seeds, treatment_auc, control_auc, predictions, alpha, power) -> dict:
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
        "mdd": minimum_detectable_difference(result["se"], alpha, power),
        "accuracy_difference": float(np.mean(accuracy)),
        "mcnemar_significant": f"{sum(p < alpha for p in mcnemar)}/{len(mcnemar)}",
        "p_mcnemar_median": float(np.median(mcnemar)),
    }  # fmt: skip


def overfitting_table(metrics: pd.DataFrame, arms, models) -> pd.DataFrame:
    """Per arm: the train-test gap (accuracy, AUC) and its seed-paired difference from baseline's gap."""
    metrics = _with_gaps(metrics)
    rows = []
    for model in models:
        runs = metrics[metrics["model"] == model]
        control = runs[runs["arm"] == BASELINE].set_index("seed")
        for arm in arms:
            own = runs[runs["arm"] == arm].set_index("seed")
            if own.empty:
                continue
            row = {"arm": arm, "model": model, "accuracy_gap": own["accuracy_gap"].mean(),
                   "auc_gap": own["auc_gap"].mean()}  # fmt: skip
            seeds = sorted(set(own.index) & set(control.index))
            if arm != BASELINE and seeds and own["auc_gap"].notna().all():
                result = paired_comparison(own.loc[seeds, "auc_gap"], control.loc[seeds, "auc_gap"])
                row.update(gap_difference=result["mean_difference"], gap_ci_low=result["ci_low"],
                           gap_ci_high=result["ci_high"], gap_verdict=_gap_verdict(result))  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows, columns=["arm", "model", "accuracy_gap", "auc_gap", "gap_difference", "gap_ci_low",
                                       "gap_ci_high", "gap_verdict"])  # fmt: skip


def _gap_verdict(result: dict) -> str:
    if not np.isfinite(result["ci_low"]):
        return "n/a (one seed)"
    if result["ci_high"] < 0:
        return "less overfitting"
    if result["ci_low"] > 0:
        return "more overfitting"
    return "no clear difference"


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
        "synthetic_only": f"{extra} {spec.generator} images only (TSTR)",
    }[spec.kind]


def design_power(comparison: pd.DataFrame, alpha: float = ALPHA, power: float = POWER) -> pd.DataFrame:
    """Per model: the median combined standard error of the comparisons with baseline and the minimum detectable
    difference at ``alpha`` and at Holm's strictest threshold ``alpha / m`` (m = arms compared)."""
    rows = []
    for model, group in comparison.groupby("model", sort=False):
        se = float(np.median(group["se"]))
        rows.append({"model": model, "n_compared": len(group), "se": se,
                     "mdd": minimum_detectable_difference(se, alpha, power),
                     "mdd_holm": minimum_detectable_difference(se, alpha / len(group), power)})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "n_compared", "se", "mdd", "mdd_holm"])
