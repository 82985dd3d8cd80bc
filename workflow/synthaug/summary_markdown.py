"""``results/summary/table.md``: the answer in one page (see docs/statistics.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arm_names import Arm
from .stats import ALPHA, CONFIDENCE, MARGIN, POWER
from .summary import STUDY_TABLE_I, TABLE_HEADERS, TABLE_METRICS, describe_arm


def markdown_report(table: pd.DataFrame, comparison: pd.DataFrame, overfitting: pd.DataFrame, design: pd.DataFrame,
                    best: pd.DataFrame, *, n_real: int, ceiling: float | None = None, alpha: float = ALPHA,
                    power: float = POWER, margin: float = MARGIN, notes=()) -> str:
    """table.md: the verdicts (the study's question first), sensitivity and specificity of the headline, power and
    the design, TSTR, the learning curve, overfitting, test metrics, best seeds and the study's Table I; ``notes``
    (e.g. arms that could not run on this dataset) follow the verdict table."""
    pct = round(100 * CONFIDENCE)
    means = table.set_index(["arm", "model"])
    lines = ["# Results", "", f"Real training images: {n_real}. Every arm was trained with the same seeds; "
             "differences are paired by seed and measured on the same test cases.", ""]
    lines += ["## The answers: each question, its interval and its verdict", ""]
    lines += md_row(["question", "arm", "control", "model", "AUC arm", "AUC control", "difference",
                      "interval (Holm level)", "p Holm", "verdict"], header=True)  # fmt: skip
    for row in comparison.itertuples(index=False):
        arm, control = means.loc[(row.arm, row.model)], means.loc[(row.control, row.model)]
        lines += md_row([row.question, row.arm, row.control, row.model, mean_sd(arm.auc_mean, arm.auc_sd),
                          mean_sd(control.auc_mean, control.auc_sd), f"{row.mean_difference:+.3f}",
                          _holm_interval(row), _p(row.p_holm), f"**{row.verdict}**"])  # fmt: skip
    lines += ["", f"**How to read a verdict.** `helps` / `hurts`: the interval excludes 0 (the AUC difference is "
              f"significant after Holm's correction). `equivalent`: the interval lies inside ±{margin:g} "
              f"(`experiment.margin`, the smallest AUC difference that matters), so any difference is too small to "
              f"matter (two one-sided tests). `inconclusive`: neither; the interval says which differences are still "
              f"possible. **Holm's family** is every AUC comparison in this table, per model "
              f"({_n_compared(comparison)} here), at family-wise error {alpha}: each interval is printed at the "
              "confidence Holm's step-down procedure tested that row at (in brackets), so an interval and its "
              "verdict never disagree. Each difference is paired by seed; its variance holds training (the spread "
              "over seeds) and the test set (DeLong's covariance of the per-seed differences on the shared test "
              "cases), each counted once. Accuracy is tested per seed by the exact McNemar test (comparison.csv: "
              "`mcnemar_significant`)."]  # fmt: skip
    lines += [line for note in notes for line in ("", note)]
    if (comparison["n_pairs"] < 2).any():
        lines += ["", "With one seed the training variance cannot be estimated: the variance is DeLong's alone."]
    lines += _threshold_section(comparison)
    lines += _power_section(comparison, design, alpha, power, margin)
    lines += _arms_section(table, n_real)
    lines += _tstr_lines(comparison, means)
    lines += _learning_curve_lines(table, ceiling)
    lines += _overfitting_section(overfitting, margin)
    lines += ["", "## Test metrics, mean ± sd over seeds", ""]
    lines += md_row(["arm", "model", *TABLE_HEADERS, f"AUC {pct}% CI of the mean", "n seeds"], header=True)
    for row in table.itertuples(index=False):
        cells = [mean_sd(getattr(row, f"{k}_mean"), getattr(row, f"{k}_sd")) for k in TABLE_METRICS]
        lines += md_row([row.arm, row.model, *cells, _interval(row.auc_ci_low, row.auc_ci_high, signed=False),
                          row.n_seeds])
    lines += ["", "Sensitivity, specificity and accuracy use each run's threshold chosen on the validation split "
              "(Youden's J: the threshold that maximises sensitivity + specificity there; `threshold` in "
              "metrics.json). The seed interval shows how much training randomness moves an arm's mean; each run's "
              "bootstrap interval over test cases is in its metrics.json."]  # fmt: skip
    if ceiling is not None:
        lines += ["", f"Ceiling: the Bayes-optimal AUC on these test cases (the phantom's true P(malignant)) is "
                      f"**{ceiling:.3f}**; no classifier can do better on average."]
    lines += ["", "## Best seed (a best-of-trials figure, not an estimate)", ""]
    lines += md_row(["arm", "model", "seed", "test accuracy", "AUC"], header=True)
    for row in best.itertuples(index=False):
        lines += md_row([row.arm, row.model, row.seed, f"{row.accuracy:.3f}", f"{row.auc:.3f}"])
    lines += ["", "## The study's Table I, for comparison", ""]
    lines += md_row(["classifier", "test accuracy", "AUC"], header=True)
    lines += [line for name, acc, auc in STUDY_TABLE_I for line in md_row([name, f"{acc:.2f}", f"{auc:.2f}"])]
    return "\n".join(lines) + "\n"


def _holm_interval(row) -> str:
    if not np.isfinite(row.ci_low):
        return "n/a"
    return f"{_interval(row.ci_low, row.ci_high)} ({_confidence(row.confidence)})"


def _confidence(value: float) -> str:
    return f"{100 * value:.2f}".rstrip("0").rstrip(".") + "%"


def _threshold_section(comparison: pd.DataFrame) -> list[str]:
    """Sensitivity and specificity differences of each model's headline comparison (paired by seed)."""
    lines = ["", "## Sensitivity and specificity of the headline comparison", ""]
    lines += md_row(["arm", "control", "model", "sensitivity difference [95% CI, seeds]",
                      "specificity difference [95% CI, seeds]"], header=True)  # fmt: skip
    for _, group in comparison.groupby("model", sort=False):
        row = group.iloc[0]
        lines += md_row([row.arm, row.control, row.model,
                          f"{row.sensitivity_difference:+.3f} {_interval(row.sensitivity_ci_low, row.sensitivity_ci_high)}",
                          f"{row.specificity_difference:+.3f} {_interval(row.specificity_ci_low, row.specificity_ci_high)}"])  # fmt: skip
    return lines + ["", "At each run's validation-chosen threshold (Youden's J); every comparison's are in "
                    "comparison.csv. These are descriptive (seed t-intervals, no verdict): the verdicts are on AUC."]


def _power_section(comparison: pd.DataFrame, design: pd.DataFrame, alpha, power, margin) -> list[str]:
    lines = ["", "## What this design can decide", ""]
    for model, group in comparison.groupby("model", sort=False):
        head = group.iloc[0]
        lines += [f"- **{model}**, {head.arm} vs {head.control}: the interval's half-width is "
                  f"**{head.half_width:.3f}** (at {_confidence(head.confidence)}), so `equivalent` needs a margin of "
                  f"at least that; the margin is {margin:g}. The interval rules out differences outside "
                  f"{_interval(head.ci_low, head.ci_high)}. A true difference of **{head.mdd:.3f}** would be found "
                  f"with {power:.0%} power at alpha {alpha} (**{head.mdd_holm:.3f}** at Holm's first threshold, "
                  f"alpha / {len(group)}), by the same t-test ({_df(head.df)} df) the verdict uses."]  # fmt: skip
    if design.empty:
        return lines
    lines += ["", f"Half-width of the headline interval with more seeds or test cases (projected from this run's "
              f"variance components at the same Holm level; **bold** = at most margin / 2 = {margin / 2:g}):", ""]
    for model, group in design.groupby("model", sort=False):
        cases = sorted(group["n_test"].unique())
        lines += md_row([f"{model}: seeds \\ test cases", *cases], header=True)
        for n_seeds, by_seeds in group.groupby("n_seeds"):
            cells = [f"**{r.half_width:.3f}**" if r.reaches else f"{r.half_width:.3f}"
                     for r in by_seeds.sort_values("n_test").itertuples(index=False)]  # fmt: skip
            lines += md_row([n_seeds, *cells])
    return lines


def _df(df: float) -> str:
    return "∞" if not np.isfinite(df) else f"{df:.1f}"


def _arms_section(table: pd.DataFrame, n_real: int) -> list[str]:
    lines = ["", "## What each arm trains on", ""]
    lines += md_row(["arm", "trains on"], header=True)
    for arm in dict.fromkeys(table["arm"]):
        lines += md_row([arm, describe_arm(arm, n_real)])
    return lines


def _tstr_lines(comparison: pd.DataFrame, means) -> list[str]:
    rows = [r for r in comparison.itertuples(index=False) if Arm.parse(r.arm).kind == "synthetic_only"]
    if not rows:
        return []
    lines = ["", "## Train on synthetic, test on real (TSTR)", ""]
    for r in rows:
        lines += [f"- {r.arm} ({r.model}): AUC {r.auc_arm:.3f} trained on synthetic images only, against "
                  f"{r.auc_control:.3f} trained on as many real images (TRTR, baseline): {r.mean_difference:+.3f} "
                  f"{_interval(r.ci_low, r.ci_high)}."]
    return lines


def _learning_curve_lines(table: pd.DataFrame, ceiling) -> list[str]:
    curve = table[table["kind"] == "baseline"].sort_values(["model", "fraction"])
    if curve["fraction"].nunique() < 2:
        return []
    lines = ["", "## Is the classifier data-limited? (learning curve, baseline)", ""]
    for model, group in curve.groupby("model", sort=False):
        points = ", ".join(f"{r.fraction:.0%} of patients {r.auc_mean:.3f}" for r in group.itertuples())
        lines += [f"- {model}: AUC at {points}" + (f"; Bayes ceiling {ceiling:.3f}." if ceiling is not None else ".")]
    return lines + ["", "A curve still rising at 100% (and below the ceiling) leaves room for more images to help; "
                    "a flat one says augmentation has little to give."]  # fmt: skip


def _overfitting_section(overfitting: pd.DataFrame, margin: float) -> list[str]:
    lines = ["", "## Does synthesis reduce overfitting? Train minus test gap", ""]
    lines += md_row(["arm", "model", "accuracy gap", "AUC gap", "AUC gap vs baseline", "interval (Holm level)",
                      "verdict"], header=True)  # fmt: skip
    for row in overfitting.itertuples(index=False):
        tested = np.isfinite(row.gap_ci_low) if isinstance(row.gap_ci_low, float) else False
        interval = f"{_interval(row.gap_ci_low, row.gap_ci_high)} ({_confidence(row.gap_confidence)})" if tested else ""
        lines += md_row([row.arm, row.model, _signed(row.accuracy_gap), _signed(row.auc_gap),
                          _signed(row.gap_difference) if tested else "—", interval,
                          row.gap_verdict if isinstance(row.gap_verdict, str) else ""])  # fmt: skip
    return lines + ["", "Train metrics are measured on the real training images (all of them, also for learning-curve "
                    "arms); the per-epoch validation AUC of every arm is in validation_curves.png. The verdicts follow "
                    f"the rules above in a family of their own per model (Holm over this table's rows; `equivalent` "
                    f"= inside ±{margin:g}); the seed spread alone is their variance (train and test share the "
                    "gap's test cases)."]  # fmt: skip


def _n_compared(comparison: pd.DataFrame) -> int:
    return int(comparison.groupby("model").size().max()) if len(comparison) else 0


def md_row(cells, header=False):
    row = ["| " + " | ".join(str(c) for c in cells) + " |"]
    return row + ["|" + "---|" * len(cells)] if header else row


def _p(value) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if value >= 0.001 else "<0.001"


def _signed(value) -> str:
    return f"{value:+.3f}" if np.isfinite(value) else "n/a"


def mean_sd(mean, sd) -> str:
    return f"{mean:.3f} ± {sd:.3f}" if np.isfinite(sd) else f"{mean:.3f}"


def _interval(low, high, signed: bool = True) -> str:
    if not np.isfinite(low):
        return "n/a"
    return f"[{low:+.3f}, {high:+.3f}]" if signed else f"[{low:.3f}, {high:.3f}]"
