"""The experiment's answer: every run's metrics, mean ± sd per arm and model, and whether each arm beats baseline.

Seeds are replicates, so results are means over seeds with their spread and a 95% t-interval, and each arm is
compared with ``baseline`` of the same model by the paired AUC difference over shared seeds. The best seed is
listed too, labelled for what it is (a best-of-trials figure, not an estimate), beside the study's Table I.
For the phantom, whose generating probabilities are known, the Bayes-optimal AUC on the test cases is the
ceiling no classifier can beat.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .constants import METRIC_KEYS
from .errors import DataError
from .io import read_csv
from .metrics import roc_auc
from .stats import CONFIDENCE, paired_comparison, t_interval

BASELINE = "baseline"
TABLE_METRICS = ("train_accuracy", "accuracy", "auc", "sensitivity", "specificity")
TABLE_HEADERS = ("train accuracy", "test accuracy", "AUC", "sensitivity", "specificity")
# The study's Table I (test accuracy, AUC), for comparison.
STUDY_TABLE_I = (
    ("InceptionResNetV2", 0.71, 0.75),
    ("InceptionResNetV2 + CGAN, average of trials", 0.71, 0.76),
    ("InceptionResNetV2 + CGAN, best trial (a best-of-trials figure, not an estimate)", 0.86, 0.89),
)


def read_run_metrics(paths) -> pd.DataFrame:
    """One row per run from ``.../evaluation/{arm}/{model}/seed{seed}/metrics.json``, confusion counts flattened."""
    rows = []
    for path in map(Path, paths):
        arm, model, seed_dir = path.parts[-4:-1]
        if not seed_dir.startswith("seed"):
            raise DataError(path, "expected a path .../{arm}/{model}/seed{seed}/metrics.json")
        try:
            values = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(path, f"not a readable metrics file ({exc}); delete it and rerun evaluate_classifier") from exc
        missing = [k for k in (*METRIC_KEYS, "n_test", "confusion_matrix") if k not in values]
        if missing:
            raise DataError(path, f"missing keys {missing}; delete it and rerun evaluate_classifier")
        (tn, fp), (fn, tp) = values.pop("confusion_matrix")
        rows.append({"arm": arm, "model": model, "seed": int(seed_dir[4:]), **values,
                     "tn": tn, "fp": fp, "fn": fn, "tp": tp})
    return pd.DataFrame(rows).sort_values(["model", "arm", "seed"], ignore_index=True)


def _ordered(groups, arms, models):
    """(arm, model) pairs in the experiment's order (models outer), only those that ran."""
    return [(arm, model) for model in models for arm in arms if (arm, model) in groups]


def summary_table(metrics: pd.DataFrame, arms, models) -> pd.DataFrame:
    """One row per (arm, model): n_seeds, mean and sd (ddof=1) of each metric, and the t-interval of the mean AUC."""
    groups = dict(list(metrics.groupby(["arm", "model"])))
    rows = []
    for arm, model in _ordered(groups, arms, models):
        runs = groups[(arm, model)]
        row = {"arm": arm, "model": model, "n_seeds": len(runs)}
        for key in METRIC_KEYS:
            values = runs[key].to_numpy(float)
            row[f"{key}_mean"] = values.mean()
            row[f"{key}_sd"] = values.std(ddof=1) if len(values) > 1 else math.nan
        _, row["auc_ci_low"], row["auc_ci_high"] = t_interval(runs["auc"], CONFIDENCE)
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_table(metrics: pd.DataFrame, arms, models) -> pd.DataFrame:
    """Each arm minus ``baseline`` of the same model: paired AUC difference over the seeds both ran."""
    rows = []
    for model in models:
        runs = metrics[metrics["model"] == model]
        control = runs[runs["arm"] == BASELINE].set_index("seed")["auc"]
        for arm in arms:
            if arm == BASELINE or control.empty:
                continue
            treatment = runs[runs["arm"] == arm].set_index("seed")["auc"]
            seeds = sorted(set(control.index) & set(treatment.index))
            if not seeds:
                continue
            result = paired_comparison(treatment[seeds].to_numpy(), control[seeds].to_numpy(), CONFIDENCE)
            rows.append({"arm": arm, "model": model, **result, "verdict": _verdict(result)})
    return pd.DataFrame(rows, columns=["arm", "model", "n_pairs", "mean_difference", "ci_low", "ci_high",
                                       "p_value", "verdict"])


def _verdict(result: dict) -> str:
    if not np.isfinite(result["ci_low"]):
        return "n/a (one seed)"
    if result["ci_low"] > 0:
        return "better than baseline"
    if result["ci_high"] < 0:
        return "worse than baseline"
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


def markdown_report(table: pd.DataFrame, comparison: pd.DataFrame, best: pd.DataFrame,
                    ceiling: float | None = None) -> str:
    """table.md: the Table-I-style summary, the 'Does it help?' comparison, best seeds and the study's figures."""
    pct = round(100 * CONFIDENCE)
    lines = ["# Results", "", "## Test metrics, mean ± sd over seeds", ""]
    lines += _md_row(["arm", "model", *TABLE_HEADERS, f"AUC {pct}% CI of the mean", "n seeds"], header=True)
    for row in table.itertuples(index=False):
        cells = [_mean_sd(getattr(row, f"{k}_mean"), getattr(row, f"{k}_sd")) for k in TABLE_METRICS]
        lines += _md_row([row.arm, row.model, *cells, _interval(row.auc_ci_low, row.auc_ci_high), row.n_seeds])
    if ceiling is not None:
        lines += ["", f"Ceiling: the Bayes-optimal AUC on these test cases (the phantom's true P(malignant)) is "
                      f"**{ceiling:.3f}**; no classifier can do better on average."]
    lines += ["", "## Does it help? Each arm against baseline (same model, paired by seed)", ""]
    lines += _md_row(["arm", "model", "mean AUC difference", f"{pct}% CI", "p (paired t-test)", "seeds", "verdict"],
                     header=True)
    for row in comparison.itertuples(index=False):
        lines += _md_row([row.arm, row.model, f"{row.mean_difference:+.3f}", _interval(row.ci_low, row.ci_high),
                          _number(row.p_value), row.n_pairs, row.verdict])
    lines += ["", "The interval is over training seeds on one test split: it shows how much training randomness "
                  "moves the answer. \"No clear difference\" means the interval includes zero, not that the arms are "
                  "equal; more seeds narrow it. Each run's bootstrap interval over test cases is in its metrics.json."]
    lines += ["", "## Best seed (a best-of-trials figure, not an estimate)", ""]
    lines += _md_row(["arm", "model", "seed", "test accuracy", "AUC"], header=True)
    for row in best.itertuples(index=False):
        lines += _md_row([row.arm, row.model, row.seed, f"{row.accuracy:.3f}", f"{row.auc:.3f}"])
    lines += ["", "## The study's Table I, for comparison", ""]
    lines += _md_row(["classifier", "test accuracy", "AUC"], header=True)
    lines += [line for name, acc, auc in STUDY_TABLE_I for line in _md_row([name, f"{acc:.2f}", f"{auc:.2f}"])]
    return "\n".join(lines) + "\n"


def _md_row(cells, header=False):
    row = ["| " + " | ".join(str(c) for c in cells) + " |"]
    return row + ["|" + "---|" * len(cells)] if header else row


def _number(value) -> str:
    return f"{value:.3f}" if np.isfinite(value) else "n/a"


def _mean_sd(mean, sd) -> str:
    return f"{mean:.3f} ± {sd:.3f}" if np.isfinite(sd) else f"{mean:.3f}"


def _interval(low, high) -> str:
    return f"[{low:.3f}, {high:.3f}]" if np.isfinite(low) else "n/a"
