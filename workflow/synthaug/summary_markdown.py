"""``results/summary/table.md``: the answer in one page (see docs/statistics.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arm_names import Arm
from scipy import stats as sps

from .stats import (
    ALPHA,
    CONFIDENCE,
    EQUIVALENT,
    HELPS,
    HURTS,
    MARGIN,
    POSITIVE_CONTROL,
    POWER,
    PRIMARY,
    SECONDARY,
)
from .summary import PER_CLASS_DIFFERENCE, STUDY_TABLE_I, TABLE_HEADERS, TABLE_METRICS, describe_arm, kclass_names

# A k-class experiment's test metrics: no single positive class, so balanced accuracy in place of sensitivity and
# specificity.
KCLASS_TABLE_METRICS = ("train_accuracy", "accuracy", "auc", "balanced_accuracy")
KCLASS_TABLE_HEADERS = ("train accuracy", "test accuracy", "macro AUC", "balanced accuracy")


def markdown_report(table: pd.DataFrame, comparison: pd.DataFrame, overfitting: pd.DataFrame, design: pd.DataFrame,
                    best: pd.DataFrame, *, n_real: int, ceiling: float | None = None, alpha: float = ALPHA,
                    power: float = POWER, margin: float = MARGIN, notes=(), quality: pd.DataFrame | None = None,
                    looks: dict | None = None) -> str:
    """table.md: whether the design can detect a benefit, the verdicts in their testing order (the positive controls,
    the study's question, the rest), the synthetic images' quality beside them, sensitivity and specificity of the
    headline (k classes: accuracy, balanced accuracy and per-class sensitivity), power and the design, TSTR, the
    learning curve, overfitting, test metrics, best seeds and the study's Table I. ``notes`` follow the verdict table;
    ``quality`` is synthaug.quality.generator_quality_table's; ``looks`` describes seeds until decided (``seeds``,
    ``max_seeds``, ``stopped``)."""
    pct = round(100 * CONFIDENCE)
    means = table.set_index(["arm", "model"])
    classes = kclass_names(table.columns, suffix="_mean")  # none for a binary experiment
    lines = ["# Results", "", f"Real training images: {n_real}. Every arm was trained with the same seeds; "
             "differences are paired by seed and measured on the same test cases.", ""]
    lines += _assay_lines(comparison, margin)
    lines += ["## The answers: each question, its interval and its verdict, in the order they were tested", ""]
    lines += md_row(["role", "question", "arm vs control", "model", "AUC arm / control (mean ± sd)", "difference",
                      "interval that decides it", "verdict"], header=True)  # fmt: skip
    for row in comparison.itertuples(index=False):
        arm, control = means.loc[(row.arm, row.model)], means.loc[(row.control, row.model)]
        lines += md_row([ROLE_NAMES.get(row.role, row.role), row.question, f"{row.arm} vs {row.control}", row.model,
                          f"{mean_sd(arm.auc_mean, arm.auc_sd)} / {mean_sd(control.auc_mean, control.auc_sd)}",
                          _signed(row.mean_difference), deciding_interval(row), verdict_cell(row)])  # fmt: skip
    lines += _looks_lines(comparison, looks)
    lines += ["", f"**How to read a verdict.** `helps` / `hurts`: the interval excludes 0 at the level the row was "
              f"tested at. `equivalent`: the 1 − 2a interval lies inside ±{margin:g} (`experiment.margin`, the smallest "
              "AUC difference that matters): two one-sided tests at level a, so any difference is too small to "
              "matter. `inconclusive`: neither, or not tested because its gate did not pass; the interval says "
              "which differences are still possible. `n/a`: no verdict is possible (one seed, or no variance). "
              f"**The testing order** (docs/statistics.md): the positive controls first (one-sided: does adding real "
              f"images of new patients help?), then the study's question, then the rest; each stage is tested only "
              f"when every row before it was decided, so the study's question gets the full alpha {alpha} whenever "
              "the positive controls pass, and the family-wise error of `helps`/`hurts` claims and of `equivalent` "
              f"claims is each at most {alpha} per model, across every row and look. Each difference is paired by "
              "seed; its variance holds training (the spread over seeds) and the test set (DeLong's covariance of the "
              "per-seed differences on the shared test cases), each counted once. Accuracy is tested per seed by the "
              "exact McNemar test (comparison.csv: `mcnemar_significant`)."]  # fmt: skip
    lines += _quality_lines(quality)
    lines += [line for note in notes for line in ("", note)]
    if (comparison["n_pairs"] < 2).any():
        lines += ["", "With one seed the training variance cannot be estimated: no verdict (`n/a`). Run at least "
                  "two seeds (experiment.seeds)."]  # fmt: skip
    lines += _kclass_section(comparison, classes) if classes else _threshold_section(comparison)
    lines += _power_section(comparison, design, alpha, power, margin)
    lines += _arms_section(table, n_real)
    lines += _tstr_lines(comparison, means)
    lines += _learning_curve_lines(table, ceiling)
    lines += _overfitting_section(overfitting)
    lines += ["", "## Test metrics, mean ± sd over seeds", ""]
    keys, headers = (KCLASS_TABLE_METRICS, KCLASS_TABLE_HEADERS) if classes else (TABLE_METRICS, TABLE_HEADERS)
    lines += md_row(["arm", "model", *headers, f"AUC {pct}% CI of the mean", "n seeds"], header=True)
    for row in table.itertuples(index=False):
        cells = [mean_sd(getattr(row, f"{k}_mean"), getattr(row, f"{k}_sd")) for k in keys]
        lines += md_row([row.arm, row.model, *cells, _interval(row.auc_ci_low, row.auc_ci_high, signed=False),
                          row.n_seeds])
    if classes:
        lines += ["", f"{len(classes)} classes ({', '.join(classes)}): each run predicts its most probable class (no "
                  "threshold); balanced accuracy is the mean of the per-class sensitivities, so every class counts "
                  "alike whatever its size; the AUC is the macro one-vs-rest AUC. metrics.csv and table.csv have each "
                  "class's AUC and sensitivity. The seed interval shows how much training randomness moves an arm's "
                  "mean; each run's bootstrap interval over test cases is in its metrics.json."]  # fmt: skip
    else:
        lines += ["", "Sensitivity, specificity and accuracy use each run's threshold chosen on the validation split "
                  "(Youden's J: the threshold that maximises sensitivity + specificity there; `threshold` in "
                  "metrics.json). The seed interval shows how much training randomness moves an arm's mean; each "
                  "run's bootstrap interval over test cases is in its metrics.json."]  # fmt: skip
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


ROLE_NAMES = {POSITIVE_CONTROL: "positive control", PRIMARY: "**the study's question**", SECONDARY: "secondary"}


def _assay_lines(comparison: pd.DataFrame, margin: float) -> list[str]:
    """The first lines: can this design detect a benefit at all (the positive controls), per model and base?"""
    lines = ["## Can this design detect a benefit?", ""]
    controls = comparison[comparison["role"] == POSITIVE_CONTROL]
    if controls.empty:
        return lines + ["**No positive control ran** (no `more_real` arms): nothing shows that this design could detect "
                        "a benefit, so an `equivalent` verdict below is uninformative — real images might be "
                        "\"equivalent\" too. Keep `more_real` and `augmented_more_real` in experiment.arms with a "
                        "reserve (experiment.reserve).", ""]  # fmt: skip
    for row in controls.itertuples(index=False):
        words = (f"**yes**: {_signed(row.mean_difference)} AUC, {deciding_interval(row)}"
                 + ("" if row.mean_difference >= margin else f" (below the margin {margin:g}: it detects a benefit, "
                    "but a benefit as large as the margin has not been shown)")) if row.verdict == HELPS else (
                 f"**no**: {_signed(row.mean_difference)} AUC, {deciding_interval(row)}, {row.verdict}. "
                 f"This design has not shown it can detect a benefit on the {row.base} base, so no row on that base "
                 "is tested for equivalence (an `equivalent` there would be uninformative: as many real images of "
                 "new patients would be \"equivalent\" too) and the rows after it are not tested")  # fmt: skip
        lines += [f"- {row.model}, {row.base} base ({row.arm} vs {row.control}): {words}."]
    return lines + [""]


def deciding_interval(row) -> str:
    """The interval that decided a row, and what it is (its confidence and kind)."""
    if row.interval == "one-sided":
        return f"[{row.ci_low:+.3f}, +∞) (one-sided {_confidence(row.confidence)})"
    if row.interval in ("difference", "equivalence"):
        kind = "difference test" if row.interval == "difference" else "equivalence: TOST"
        return f"{_interval(row.ci_low, row.ci_high)} ({_confidence(row.confidence)}, {kind})"
    if np.isfinite(row.ci95_low):
        return f"not tested; 95%: {_interval(row.ci95_low, row.ci95_high)}"
    return "n/a"


def verdict_cell(row) -> str:
    """The verdict word in bold, with why (not tested, no verdict) or what makes it uninformative."""
    cell = f"**{row.verdict}**"
    if row.verdict == EQUIVALENT and row.assay_sensitive is not True:
        cell += " (uninformative: no positive control on this base has shown the design can detect a benefit)"
    if isinstance(row.reason, str) and row.reason:
        cell += f" ({row.reason})"
    if getattr(row, "n_looks", 1) > 1 and row.verdict in (HELPS, HURTS, EQUIVALENT):
        cell += f" (look {row.look})"
    return cell


def _looks_lines(comparison: pd.DataFrame, looks: dict | None) -> list[str]:
    """How many looks and seeds it took, and why it stopped."""
    if not looks:
        return []
    seeds = looks["seeds"]
    return ["", f"**Seeds until decided**: {len(seeds)} look(s) at {', '.join(map(str, seeds))} seeds (at most "
            f"{looks['max_seeds']}); {looks['stopped']}. Each look spends its share of alpha "
            f"({looks['spending'].replace('_', '-')} spending); a verdict made at a look stands."]  # fmt: skip


def _quality_lines(quality: pd.DataFrame | None) -> list[str]:
    """Each generator's images beside its verdicts: quality against the real-vs-real floors, label fidelity,
    copying, and one plain sentence."""
    if quality is None or quality.empty:
        return []
    lines = ["", "## The synthetic images behind these verdicts", ""]
    lines += md_row(["generator", "instances", "precision (floor)", "recall (floor)", "coverage (floor)",
                      "KID × 1000 (floor)", "label fidelity (on real)", "copying", "passes its quality floor"],
                    header=True)  # fmt: skip
    for row in quality.itertuples(index=False):
        lines += md_row([row.generator, row.n_instances, f"{row.precision:.2f} ({row.precision_floor:.2f})",
                          f"{row.recall:.2f} ({row.recall_floor:.2f})", f"{row.coverage:.2f} ({row.coverage_floor:.2f})",
                          f"{row.kid:.1f} ({row.kid_floor:.1f})",
                          f"{row.label_fidelity:.2f} ({row.label_fidelity_real:.2f})", row.copying,
                          "yes" if row.passes_floor else "**no**"])  # fmt: skip
    lines += [""] + [f"- **{row.generator}**: {row.sentence}" for row in quality.itertuples(index=False)]
    rule = quality["floor_rule"].iloc[0]
    one = quality.loc[quality["n_instances"] <= 1, "generator"].tolist()
    lines += ["", f"Quality floor: {rule}. A verdict about a generator that fails it is a verdict about those images, "
              "not about what data synthesis can do."]  # fmt: skip
    if one:
        lines += ["", f"{', '.join(one)}: one trained instance, so its verdicts are about that one training run of "
                  "the generator; with experiment.generator_seeds of n > 1 they are about the generator method "
                  "(its run-to-run variance is in the interval)."]  # fmt: skip
    return lines


def _confidence(value: float) -> str:
    return f"{100 * value:.2f}".rstrip("0").rstrip(".") + "%"


def _threshold_section(comparison: pd.DataFrame) -> list[str]:
    """Sensitivity and specificity differences of each model's study question, one row per generator (paired by
    seed), mean ± sd."""
    lines = ["", "## Sensitivity and specificity of the study's question", ""]
    lines += md_row(["arm", "control", "model", "sensitivity difference (mean ± sd over seeds)",
                      "specificity difference (mean ± sd over seeds)"], header=True)  # fmt: skip
    for _, group in comparison.groupby("model", sort=False):
        for row in _primary_rows(group).itertuples(index=False):
            lines += md_row([row.arm, row.control, row.model,
                              _signed_sd(row.sensitivity_difference, row.sensitivity_sd),
                              _signed_sd(row.specificity_difference, row.specificity_sd)])  # fmt: skip
    return lines + ["", "At each run's validation-chosen threshold (Youden's J); every comparison's are in "
                    "comparison.csv. Descriptive only, no interval: every seed picks its threshold on the same "
                    "validation cases and is scored on the same test cases, so the spread over seeds misses most of "
                    "their variance. The verdicts are on AUC."]  # fmt: skip


def _kclass_section(comparison: pd.DataFrame, classes) -> list[str]:
    """For k classes, in place of sensitivity and specificity (no single positive class): the accuracy and balanced
    accuracy differences of each model's study question, one row per generator (paired by seed), mean ± sd, and
    for each a line of the per-class sensitivity differences (a line, not a table: it stays readable at k = 10)."""
    lines = ["", "## Accuracy and balanced accuracy of the study's question", ""]
    lines += md_row(["arm", "control", "model", "accuracy difference (mean ± sd over seeds)",
                      "balanced accuracy difference (mean ± sd over seeds)"], header=True)  # fmt: skip
    per_class = []
    for _, group in comparison.groupby("model", sort=False):
        # Rows as Series, read by column name: class names (folder names) need not be Python identifiers.
        for _, row in _primary_rows(group).iterrows():
            balanced = _signed_sd(row["balanced_accuracy_difference"], row["balanced_accuracy_sd"])
            lines += md_row([row["arm"], row["control"], row["model"],
                              _signed_sd(row["accuracy_difference"], row["accuracy_sd"]), balanced])
            cells = [f"{name} {_signed(row.get(PER_CLASS_DIFFERENCE.format(name), np.nan))}" for name in classes]
            per_class += [f"- {row['model']}, {row['arm']} vs {row['control']}, sensitivity difference per class "
                          f"(mean over seeds): {', '.join(cells)}."]  # fmt: skip
    return lines + ["", *per_class, "", f"{len(classes)} classes, so no single positive class: no sensitivity or "
                    "specificity. Each run predicts its most probable class (no threshold); balanced accuracy is the "
                    "mean of the per-class sensitivities (the share of each class's cases predicted as it), so every "
                    "class counts alike. Every comparison's differences are in comparison.csv (accuracy_*, "
                    "balanced_accuracy_*, sensitivity_class_<name>_difference). Descriptive only, no interval: every "
                    "seed is scored on the same test cases, so the spread over seeds misses their variance. The "
                    "verdicts are on the macro one-vs-rest AUC."]  # fmt: skip


def _primary_rows(group: pd.DataFrame) -> pd.DataFrame:
    """One model's study-question rows (one per generator), or its first row when it asks none."""
    primary = group[group["role"] == PRIMARY]
    return primary if len(primary) else group.head(1)


def _headline(group: pd.DataFrame):
    return next(_primary_rows(group).itertuples(index=False))


def _signed_sd(mean, sd) -> str:
    return f"{mean:+.3f} ± {sd:.3f}" if np.isfinite(sd) else _signed(mean)


def _power_section(comparison: pd.DataFrame, design: pd.DataFrame, alpha, power, margin) -> list[str]:
    lines = ["", "## What this design can decide", ""]
    for model, group in comparison.groupby("model", sort=False):
        head = _headline(group)
        if not np.isfinite(head.se):
            continue
        t_half = head.se * _t(head.look_alpha, head.df)
        lines += [f"- **{model}**, {head.arm} vs {head.control}: at the level it is tested at when the positive "
                  f"controls pass (alpha {head.look_alpha:.4g} at its look), the difference interval's half-width is "
                  f"**{t_half:.3f}**; the equivalence interval's (TOST) is "
                  f"**{head.se * _t(2 * head.look_alpha, head.df):.3f}**, so `equivalent` needs a margin of at least "
                  f"that; the margin is {margin:g}. A true difference of **{head.mdd:.3f}** would be found with "
                  f"{power:.0%} power at alpha {alpha}, by the same t-test ({_df(head.df)} df) the verdict uses."]  # fmt: skip
    if design.empty:
        return lines
    lines += ["", f"Half-width of the study question's interval with more seeds or test cases (projected from this "
              f"run's variance components at the same level; **bold** = at most margin / 2 = {margin / 2:g}):", ""]
    for model, group in design.groupby("model", sort=False):
        cases = sorted(group["n_test"].unique())
        lines += md_row([f"{model}: seeds \\ test cases", *cases], header=True)
        for n_seeds, by_seeds in group.groupby("n_seeds"):
            cells = [f"**{r.half_width:.3f}**" if r.reaches else f"{r.half_width:.3f}"
                     for r in by_seeds.sort_values("n_test").itertuples(index=False)]  # fmt: skip
            lines += md_row([n_seeds, *cells])
    return lines


def _t(level: float, df: float) -> float:
    """Two-sided critical t at ``level``."""
    return float(sps.t.ppf(1 - level / 2, df))


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
                  f"{r.auc_control:.3f} trained on as many real images (TRTR, baseline): {r.mean_difference:+.3f}, "
                  f"{deciding_interval(r)}, **{r.verdict}**."]  # not tested (gate): its 95% interval, not n/a
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
    lines += md_row(["arm", "model", "accuracy gap", "AUC gap", "AUC gap vs baseline (mean ± sd over seeds)"],
                    header=True)  # fmt: skip
    for row in overfitting.itertuples(index=False):
        lines += md_row([row.arm, row.model, _signed(row.accuracy_gap), _signed(row.auc_gap),
                          _signed_sd(row.gap_difference, row.gap_sd) if np.isfinite(row.gap_difference) else "—"])
    return lines + ["", "Train metrics are measured on the real training images (all of them, also for learning-curve "
                    "arms); the per-epoch validation AUC of every arm is in validation_curves.png. Descriptive, no "
                    "verdict: the gap's test-set part is shared by every seed, so the spread over seeds alone would "
                    "understate its variance."]  # fmt: skip


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
