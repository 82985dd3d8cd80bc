"""``results/summary/table.md``: the answer in one page (see README, "How to read the results")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arm_names import Arm
from .stats import ALPHA, CONFIDENCE, POWER
from .summary import STUDY_TABLE_I, TABLE_HEADERS, TABLE_METRICS, describe_arm


def markdown_report(table: pd.DataFrame, comparison: pd.DataFrame, controls: pd.DataFrame,
                    overfitting: pd.DataFrame, power_table: pd.DataFrame, best: pd.DataFrame, *, n_real: int,
                    ceiling: float | None = None, alpha: float = ALPHA, power: float = POWER, notes=()) -> str:
    """table.md: verdicts per arm, the controls, overfitting, power, test metrics, best seeds, the study's Table I;
    ``notes`` (e.g. arms that could not run on this dataset) follow the verdict table."""
    pct = round(100 * CONFIDENCE)
    means = table.set_index(["arm", "model"])
    lines = ["# Results", "", f"Real training images: {n_real}. Every arm was trained with the same seeds; "
             "differences are paired by seed and measured on the same test cases.", ""]
    lines += ["## Does it help? Each arm against baseline (same model, paired by seed)", ""]
    lines += md_row(["arm", "trains on", "model", "AUC mean ± sd", "difference vs baseline", f"{pct}% CI",
                      f"{pct}% CI (seeds only)", "p seeds", "p DeLong", "p combined", "p Holm", "verdict"],
                     header=True)  # fmt: skip
    base = [r for r in table.itertuples(index=False) if r.arm == "baseline"]
    for row in base:
        lines += md_row(["baseline", describe_arm("baseline", n_real), row.model, mean_sd(row.auc_mean, row.auc_sd),
                          "—", "", "", "", "", "", "", "reference"])  # fmt: skip
    for row in comparison.itertuples(index=False):
        auc = means.loc[(row.arm, row.model)]
        lines += md_row([row.arm, describe_arm(row.arm, n_real), row.model, mean_sd(auc.auc_mean, auc.auc_sd),
                          f"{row.mean_difference:+.3f}", _interval(row.ci_low, row.ci_high),
                          _interval(row.seed_ci_low, row.seed_ci_high), _p(row.p_seeds), _p(row.p_delong),
                          _p(row.p_value), _p(row.p_holm), f"**{row.verdict}**"])  # fmt: skip
    lines += ["", f"The verdict is `helps` or `hurts` when the combined test's p-value, Holm-corrected over the "
              f"{_n_compared(comparison)} arms compared per model, is below {alpha}; otherwise `no detectable "
              "difference`. The combined test adds both sources of variance: training (the spread of the paired "
              "differences over seeds) and the test set (DeLong's variance on these test cases, shared by every seed, "
              "so more seeds do not shrink it). Accuracy is tested per seed by the exact McNemar test (comparison.csv: "
              "`mcnemar_significant`)."]  # fmt: skip
    lines += [line for note in notes for line in ("", note)]
    if (comparison["n_pairs"] < 2).any():
        lines += ["", "With one seed the training variance cannot be estimated: p combined is DeLong's alone."]
    for row in power_table.itertuples(index=False):
        lines += ["", f"**Minimum detectable difference** ({row.model}): with this design (its seeds and test cases), "
                  f"a true AUC difference of **{row.mdd:.3f}** would be found with {power:.0%} power at alpha {alpha} "
                  f"(**{row.mdd_holm:.3f}** at Holm's strictest threshold, alpha / {row.n_compared}). "
                  "`no detectable difference` rules out differences larger than about this, not smaller ones."]
    lines += _controls_section(controls)
    lines += _tstr_lines(comparison, means)
    lines += _learning_curve_lines(table, ceiling)
    lines += _overfitting_section(overfitting)
    lines += ["", "## Test metrics, mean ± sd over seeds", ""]
    lines += md_row(["arm", "model", *TABLE_HEADERS, f"AUC {pct}% CI of the mean", "n seeds"], header=True)
    for row in table.itertuples(index=False):
        cells = [mean_sd(getattr(row, f"{k}_mean"), getattr(row, f"{k}_sd")) for k in TABLE_METRICS]
        lines += md_row([row.arm, row.model, *cells, _interval(row.auc_ci_low, row.auc_ci_high, signed=False),
                          row.n_seeds])
    lines += ["", "The seed interval shows how much training randomness moves an arm's mean; each run's bootstrap "
              "interval over test cases is in its metrics.json."]  # fmt: skip
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


def _controls_section(controls: pd.DataFrame) -> list[str]:
    lines = ["", "## GAN images against the same number of other images", ""]
    if controls.empty:
        return lines + ["No equal-count control ran (experiment.arms lacks augmented_equal and more_real)."]
    lines += md_row(["arm", "control", "model", "difference", "95% CI", "p Holm", "verdict"], header=True)
    for row in controls.itertuples(index=False):
        lines += md_row([row.arm, row.control, row.model,
                          f"{row.mean_difference:+.3f}", _interval(row.ci_low, row.ci_high), _p(row.p_holm),
                          f"**{row.verdict}**"])  # fmt: skip
    return lines + ["", "Against `augmented_equal`, `helps` means the GAN's images beat as many classic-augmentation "
                    "copies; against `more_real` (the oracle: real images of patients in no split) `no detectable "
                    "difference` is the best synthetic images could do, and `hurts` the usual outcome."]  # fmt: skip


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


def _overfitting_section(overfitting: pd.DataFrame) -> list[str]:
    lines = ["", "## Does synthesis reduce overfitting? Train minus test gap", ""]
    lines += md_row(["arm", "model", "accuracy gap", "AUC gap", "AUC gap vs baseline", "95% CI (seeds)", "verdict"],
                     header=True)  # fmt: skip
    for row in overfitting.itertuples(index=False):
        has = isinstance(row.gap_verdict, str)
        lines += md_row([row.arm, row.model, _signed(row.accuracy_gap), _signed(row.auc_gap),
                          _signed(row.gap_difference) if has else "—",
                          _interval(row.gap_ci_low, row.gap_ci_high) if has else "", row.gap_verdict if has else ""])
    return lines + ["", "Train metrics are measured on the real training images (all of them, also for learning-curve "
                    "arms); the per-epoch validation AUC of every arm is in validation_curves.png."]  # fmt: skip


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
