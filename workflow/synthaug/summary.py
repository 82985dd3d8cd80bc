"""The experiment's answer: every run's metrics, mean ± sd per arm and model, and a verdict per question asked.

Seeds are replicates, so results are means over seeds with their spread. The comparisons (:func:`comparison_pairs`)
open with the positive controls (real images of new patients from the reserve, on each base: can this design detect
a benefit at all?), then the study's question, ``combined`` (GAN images on top of classic augmentation) against
``augmented``, then each arm that adds GAN images against its own base and its two equal-count controls, classic
augmentation against baseline, TSTR, and the pre-training arms against their equal-compute control and ``augmented``.
Each is the seed-paired AUC difference on the shared test cases, with training and test-set variance each counted
once (:func:`synthaug.stats.two_source_comparison`). The verdicts
follow a pre-specified testing order (:func:`synthaug.stats.family_verdicts`: positive controls and the study's
question as gatekeepers, the rest after them), at each look of "seeds until decided" with the error spent across
looks; each row's interval is the one that decided it: ``helps`` / ``hurts`` / ``equivalent`` (inside
``experiment.margin``) / ``inconclusive`` (``n/a`` with one seed). The best seed is listed too, labelled for what it
is (a best-of-trials figure, not an estimate), beside the study's Table I. For the phantom, the Bayes-optimal AUC on
the test cases is the ceiling no classifier can beat.
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
    MARGIN,
    POSITIVE_CONTROL,
    POWER,
    PRIMARY,
    SECONDARY,
    TooFewCases,
    adjusted_p,
    family_verdicts,
    look_levels,
    mcnemar_exact,
    minimum_detectable_difference,
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
    "arm", "control", "model", "role", "question", "base", "generator", "assay_sensitive", "verdict", "reason",
    "n_pairs", "look", "n_looks", "auc_arm", "auc_control", "mean_difference", "ci_low", "ci_high", "confidence",
    "interval", "half_width", "margin", "p_value", "p_holm", "p_tost", "level", "equivalence_level", "look_alpha",
    "ci95_low", "ci95_high", "seed_ci_low", "seed_ci_high", "p_seeds", "se_train", "se_test", "se_delong", "p_delong",
    "se", "df", "var_seed", "var_seed_case", "var_test", "mdd", "mdd_level", "sensitivity_difference",
    "sensitivity_sd", "specificity_difference", "specificity_sd", "accuracy_difference", "accuracy_sd",
    "balanced_accuracy_difference", "balanced_accuracy_sd", "mcnemar_significant", "p_mcnemar_median",
    "gen_coverage", "gen_label_fidelity", "gen_quality_ok",
)  # fmt: skip
# After them, a k-class experiment's comparison.csv has one column per class, in label order: the seed-paired
# difference of that class's sensitivity, mean over seeds (PER_CLASS_DIFFERENCE.format(name)).
PER_CLASS_DIFFERENCE = "sensitivity_class_{}_difference"
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
        required = KCLASS_METRIC_KEYS if "classes" in values else METRIC_KEYS
        missing = [k for k in (*required, "n_test", "confusion_matrix") if k not in values]
        if missing:
            raise DataError(path, f"missing keys {missing}; delete it and rerun evaluate_classifier")
        counts = _flat_counts(values)
        spec = Arm.parse(arm)
        rows.append({"arm": arm, "kind": spec.kind, "generator": spec.generator or "",
                     "ratio": math.nan if spec.ratio is None else spec.ratio, "fraction": spec.fraction,
                     "model": model, "seed": seed, **values, **counts})  # fmt: skip
    return pd.DataFrame(rows).sort_values(["model", "arm", "seed"], ignore_index=True)


# A k-class run's metrics.json (synthaug.evaluation): no threshold, so no sensitivity / specificity of one class.
KCLASS_METRIC_KEYS = ("accuracy", "auc", "balanced_accuracy", "train_accuracy")
PER_CLASS_KEYS = {"auc_per_class": "auc_class", "sensitivity_per_class": "sensitivity_class"}


def _flat_counts(values: dict) -> dict:
    """Pops the confusion matrix (and a k-class run's per-class lists and class names) from ``values``: binary
    ``tn, fp, fn, tp``; k classes ``auc_class_<name>``, ``sensitivity_class_<name>`` and
    ``true_<name>_predicted_<name>`` columns."""
    matrix = values.pop("confusion_matrix")
    if "classes" not in values:
        (tn, fp), (fn, tp) = matrix
        return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    names = values.pop("classes")
    out = {f"{PER_CLASS_KEYS[key]}_{name}": value for key in PER_CLASS_KEYS
           for name, value in zip(names, values.pop(key, [math.nan] * len(names)))}  # fmt: skip
    out.update({f"true_{a}_predicted_{b}": matrix[i][j] for i, a in enumerate(names) for j, b in enumerate(names)})
    return out


def read_predictions(paths) -> dict[tuple[str, str, int], pd.DataFrame]:
    """``(arm, model, seed) -> predictions.csv`` (case_id, label, probability, prediction; a k-class run one
    ``probability_<class>`` column per class instead of ``probability``), indexed by case_id."""
    out = {}
    for path in map(Path, paths):
        table = read_csv(path, required=("case_id", "label", "prediction"), dtype={"case_id": str})
        if "probability" not in table.columns and not probability_columns(table):
            raise DataError(path, "has no probability column (binary: probability; k classes: probability_<class> "
                            "per class); delete it and rerun evaluate_classifier")  # fmt: skip
        out[_run_dir(path)] = table.set_index("case_id")
    return out


def probability_columns(table: pd.DataFrame) -> list[str]:
    """A k-class predictions table's probability columns (one per class, in label order); none for a binary one."""
    return [c for c in table.columns if c.startswith("probability_")]


def case_scores(table: pd.DataFrame, cases) -> np.ndarray:
    """The scores DeLong's comparison takes, in ``cases``' order: a binary run's P(class 1) ``(n,)``, a k-class
    run's probabilities ``(n, k)`` (:func:`synthaug.stats.delong_covariance` compares their macro AUCs)."""
    if "probability" in table.columns:
        return table.loc[cases, "probability"].to_numpy(float)
    return table.loc[cases, probability_columns(table)].to_numpy(float)


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
        for key in (*SUMMARY_KEYS, "accuracy_gap", "auc_gap", *_kclass_keys(metrics)):
            values = runs[key].to_numpy(float) if key in runs else np.full(len(runs), np.nan)
            row[f"{key}_mean"] = values.mean()
            row[f"{key}_sd"] = values.std(ddof=1) if len(values) > 1 else math.nan
        _, row["auc_ci_low"], row["auc_ci_high"] = t_interval(runs["auc"], CONFIDENCE)
        rows.append(row)
    return pd.DataFrame(rows)


def kclass_names(columns, suffix: str = "") -> list[str]:
    """A k-class experiment's class names in label order, read off its per-class AUC columns ``auc_class_<name>``
    followed by ``suffix`` (metrics.csv: none; table.csv: ``_mean``); none for a binary experiment."""
    prefix = f"{PER_CLASS_KEYS['auc_per_class']}_"
    return [c[len(prefix) : len(c) - len(suffix)] for c in columns if c.startswith(prefix) and c.endswith(suffix)]


def _kclass_keys(metrics: pd.DataFrame) -> list[str]:
    """A k-class experiment's further metrics for the table: balanced accuracy and the per-class AUCs and
    sensitivities (none for a binary one)."""
    return [c for c in metrics.columns if c == "balanced_accuracy" or c.startswith(tuple(PER_CLASS_KEYS.values()))]


def _with_gaps(metrics: pd.DataFrame) -> pd.DataFrame:
    train_auc = metrics["train_auc"] if "train_auc" in metrics else np.nan
    return metrics.assign(accuracy_gap=metrics["train_accuracy"] - metrics["accuracy"],
                          auc_gap=train_auc - metrics["auc"])  # fmt: skip


BASES = {"baseline": "real", "augmented": "augmented"}  # a row's base: the control's (or its control's base)


def comparison_pairs(arms, ratio: float | None = None) -> list[tuple[str, str, str, str]]:
    """``(arm, control, question, role)`` of every comparison the experiment's arms allow, in the testing order.

    First the **positive controls** (role ``positive_control``): as many real images of new patients (the reserve) on
    each base, ``augmented_more_real`` vs ``augmented`` and ``more_real`` vs ``baseline``: can this design detect a
    benefit at all? Then the **study's question** for each generator (role ``primary``: ``combined`` vs
    ``augmented``, do GAN images help on top of classic augmentation?). Then the rest (``secondary``): ``combined``
    against its equal-count controls on the augmented base, ``synthetic`` against baseline and its controls on the
    real base, classic augmentation against baseline, TSTR, and last the pre-training arms: ``pretrain-{g}`` against
    its equal-compute control ``pretrain_augmented`` and against ``augmented``, then ``pretrain_augmented`` against
    ``augmented``. With ``ratio`` (classifier.synthetic_ratio) only arms at
    that ratio are compared: the dose sweep's other ratios are shown in dose_response.png and the test metrics and
    stay out of the family. Learning-curve subsets answer another question and are not compared either.
    """
    specs = [spec for spec in map(Arm.parse, arms)
             if spec.fraction == 1 and (ratio is None or spec.ratio in (None, ratio))]  # fmt: skip
    present = {spec.name for spec in specs}
    rows = []

    def add(arm, control, question, role):
        if arm in present and control in present and (arm, control) not in {(r[0], r[1]) for r in rows}:
            rows.append((arm, control, question, role))

    for kind, base, on in (("augmented_more_real", "augmented", " on top of classic augmentation"),
                           ("more_real", BASELINE, "")):  # fmt: skip
        for spec in specs:
            if spec.kind == kind:
                add(spec.name, base, f"Can this design detect a benefit{on}? (real images of new patients)",
                    POSITIVE_CONTROL)  # fmt: skip
    for spec in specs:
        if spec.kind == "combined":
            add(spec.name, "augmented", f"Do {spec.generator} images help on top of classic augmentation?", PRIMARY)
    for spec in sorted((s for s in specs if s.kind in CONTROLS), key=lambda s: list(CONTROLS).index(s.kind)):
        more_augmented, more_real = (Arm(k, ratio=spec.ratio).name for k in CONTROLS[spec.kind])
        on = " on top of classic augmentation" if spec.kind == "combined" else ""
        if spec.kind == "synthetic":  # combined's own base (augmented) is the study's question, asked above
            add(spec.name, BASELINE, f"Do {spec.generator} images help without classic augmentation?", SECONDARY)
        add(spec.name, more_augmented, f"Do {spec.generator} images beat as many more augmented copies{on}?",
            SECONDARY)  # fmt: skip
        add(spec.name, more_real, f"Are {spec.generator} images as good as as many real images of new "
                                  f"patients{on}? (the oracle)", SECONDARY)  # fmt: skip
    add("augmented", BASELINE, "Does classic augmentation help?", SECONDARY)
    for spec in specs:
        if spec.kind == "synthetic_only":
            add(spec.name, BASELINE, f"Can {spec.generator} images replace the real ones? (TSTR)", SECONDARY)
    for spec in specs:  # the two-stage arms: all three fine-tune on the augmented arm's images
        if spec.kind == "pretrain":
            add(spec.name, Arm("pretrain_augmented", ratio=spec.ratio).name, f"Does pre-training on {spec.generator} "
                "images beat pre-training on as many augmented copies?", SECONDARY)  # fmt: skip
            add(spec.name, "augmented", f"Does pre-training on {spec.generator} images help classic augmentation?",
                SECONDARY)  # fmt: skip
    for spec in specs:
        if spec.kind == "pretrain_augmented":
            add(spec.name, "augmented", "Does pre-training on augmented copies help classic augmentation? (the "
                "compute control)", SECONDARY)  # fmt: skip
    return rows


def row_base(arm: str, control: str) -> str:
    """The base a comparison's images are added to: ``augmented`` (the study's) or ``real``."""
    if control == "augmented" or Arm.parse(arm).kind in ("combined", "augmented_extra", "augmented_more_real",
                                                          "pretrain", "pretrain_augmented"):
        return "augmented"
    return "real"


def looks_that_ran(planned_looks, n_ran: int) -> list[int]:
    """Seeds at each look of ``planned_looks`` (synthaug.looks) that ran, given ``n_ran`` seeds evaluated."""
    return [len(seeds) for seeds in planned_looks if len(seeds) <= n_ran] or [n_ran]


def experiment_comparison(metrics, predictions, arms, experiment: dict, synthetic_ratio: float,
                          planned_looks) -> pd.DataFrame:
    """comparison.csv of the runs so far: the looks that ran (``planned_looks``: seeds of every planned look,
    synthaug.looks) with the experiment's alpha, power, margin and spending."""
    schedule = looks_that_ran(planned_looks, metrics["seed"].nunique())
    return compare(metrics, predictions, comparison_pairs(arms, synthetic_ratio), experiment["models"],
                   experiment["alpha"], experiment["power"], experiment["margin"], looks=schedule,
                   max_seeds=len(planned_looks[-1]), spending=experiment["spending"])  # fmt: skip


def looks_summary(comparison: pd.DataFrame, decisions: list[dict], planned_looks, spending: str) -> dict:
    """What table.md says about seeds until decided: seeds at each look that ran, the cap, and why it stopped."""
    seeds = looks_that_ran(planned_looks, int(comparison["n_pairs"].max()) if len(comparison) else 0)
    max_seeds = len(planned_looks[-1])
    final = look_decision(comparison)
    if len(planned_looks) == 1:
        stopped = "one look (experiment.max_seeds is the number of experiment.seeds)"
    elif final["stop"]:
        stopped = f"stopped because {final['reason']}"
    else:
        stopped = f"stopped at max_seeds ({max_seeds}) undecided: {final['reason'].removeprefix('still undecided: ')}"
    return {"seeds": seeds, "max_seeds": max_seeds, "stopped": stopped, "spending": spending,
            "decisions": decisions}


def with_generator_quality(comparison: pd.DataFrame, reports: dict[str, dict]):
    """comparison.csv with each row's generator's coverage, label fidelity and whether it passes its quality floor
    (synthaug.quality.generator_quality_table), and that table (None without generators)."""
    if not reports:
        return comparison, None
    from .quality import generator_quality_table

    quality = generator_quality_table(reports)
    by_generator = quality.set_index("generator")
    out = comparison.copy()
    for column, key in (("gen_coverage", "coverage"), ("gen_label_fidelity", "label_fidelity"),
                        ("gen_quality_ok", "passes_floor")):  # fmt: skip
        out[column] = [by_generator.at[g, key] if g in by_generator.index else None for g in out["generator"]]
    return out, quality


def look_decision(comparison: pd.DataFrame) -> dict:
    """Whether to stop adding seeds: every positive control says ``helps`` and every study question is decided
    (``helps``, ``hurts`` or ``equivalent``), for every model; ``reason`` in words."""
    gate = comparison[comparison["role"].isin([POSITIVE_CONTROL, PRIMARY])]
    open_rows = gate[~gate["verdict"].isin(DECIDED) | ((gate["role"] == POSITIVE_CONTROL) & (gate["verdict"] != HELPS))]
    if gate.empty:
        return {"stop": True, "reason": "no positive control or study question to decide"}
    if open_rows.empty:
        return {"stop": True, "reason": "the positive controls and the study's question are decided"}
    pending = ", ".join(f"{r.arm} vs {r.control} ({r.model}: {r.verdict})" for r in open_rows.itertuples(index=False))
    return {"stop": False, "reason": f"still undecided: {pending}"}


def compare(metrics, predictions, pairs, models, alpha: float = ALPHA, power: float = POWER,
            margin: float = MARGIN, looks=None, max_seeds=None, spending: str = "obrien_fleming") -> pd.DataFrame:
    """Seed-paired comparisons ``(arm, control, question, role)`` per model: both sources of variance, the testing
    order (positive controls, the study's question, the rest: :func:`synthaug.stats.family_verdicts`) at each look
    of seeds until decided (``looks``: seeds per look, default one look of every seed; each spends its share of
    ``alpha``, :func:`synthaug.stats.look_levels`), and power. A verdict made at a look stands; its row reports that
    look's numbers (``look``), an undecided row the last look's."""
    rows = []
    for model in models:
        runs = metrics[metrics["model"] == model]
        seeds = _seeds_in_order(runs, pairs)
        schedule = list(looks) if looks else [len(seeds)]
        levels = look_levels(schedule, max_seeds or schedule[-1], alpha, spending)
        final, rejected = None, None
        for look, (n_seeds, look_alpha) in enumerate(zip(schedule, levels), start=1):
            family = [_row(runs, predictions, arm, control, question, role, model, seeds[:n_seeds], alpha)
                      for arm, control, question, role in pairs]  # fmt: skip
            family = [row for row in family if row is not None]
            verdicts = family_verdicts([r["mean_difference"] for r in family], [r["se"] for r in family],
                                       [r["df"] for r in family], [r["role"] for r in family], alpha=look_alpha,
                                       margin=margin, rejected=rejected)  # fmt: skip
            current = [{**row, **verdict, "look": look, "look_alpha": look_alpha}
                       for row, verdict in zip(family, verdicts)]  # fmt: skip
            final = current if final is None else [old if old["verdict"] in DECIDED else new
                                                   for old, new in zip(final, current)]  # fmt: skip
            rejected = tuple(np.array([v[k] for v in verdicts]) for k in ("rejected_difference", "rejected_equivalence"))
            for row, p_adjusted in zip(current, adjusted_p([r["p_value"] for r in verdicts], [r["role"] for r in family])):
                row["p_holm"] = p_adjusted
        for row in final or []:
            row.update(n_looks=len(schedule), margin=margin, confidence=row["interval_confidence"],
                       mdd=minimum_detectable_difference(row["se"], row["df"], alpha, power),
                       mdd_level=minimum_detectable_difference(row["se"], row["df"], row["level"], power))  # fmt: skip
        rows += _with_assay_sensitivity(final or [])
    per_class = [PER_CLASS_DIFFERENCE.format(name) for name in kclass_names(metrics.columns)]
    return pd.DataFrame(rows, columns=[*COMPARISON_COLUMNS, *per_class])


DECIDED = (HELPS, HURTS, EQUIVALENT)


def _seeds_in_order(runs: pd.DataFrame, pairs) -> list[int]:
    """Seeds every compared arm ran, in the order they were added (ascending: added seeds continue the list)."""
    arms = {a for pair in pairs for a in pair[:2]}
    by_arm = [set(runs.loc[runs["arm"] == arm, "seed"]) for arm in arms if (runs["arm"] == arm).any()]
    return sorted(set.intersection(*by_arm)) if by_arm else []


def _row(runs, predictions, arm, control, question, role, model, seeds, alpha) -> dict | None:
    treatment = runs[runs["arm"] == arm].set_index("seed")
    reference = runs[runs["arm"] == control].set_index("seed")
    if treatment.empty or reference.empty or not seeds:
        return None
    row = _compare_pair(arm, control, model, seeds, treatment["auc"], reference["auc"], predictions, alpha)
    spec = Arm.parse(arm)
    return {**row, "question": question, "role": role, "base": row_base(arm, control),
            "generator": spec.generator or "", **_seed_differences(treatment.loc[seeds], reference.loc[seeds])}


def _with_assay_sensitivity(rows: list[dict]) -> list[dict]:
    """``assay_sensitive``: whether the positive control on the row's base said ``helps`` (NaN: no control)."""
    controls = {r["base"]: r["verdict"] == HELPS for r in rows if r["role"] == POSITIVE_CONTROL}
    return [{**r, "assay_sensitive": controls.get(r["base"], math.nan)} for r in rows]


def _seed_differences(treatment: pd.DataFrame, control: pd.DataFrame) -> dict:
    """Seed-paired differences of the descriptive metrics, mean and sd over seeds only: sensitivity and specificity
    (binary: at each run's validation-chosen threshold), balanced accuracy and each class's sensitivity (k classes:
    at each run's most probable class; the per-class ones mean only, one column per class). No interval: every seed
    is scored on the same test cases (and picks its threshold on the same validation cases), so the seed spread
    misses their variance (docs/statistics.md). NaN where the runs lack the metric: a k-class run has no single
    positive class, a binary metrics.json no balanced accuracy."""
    out = {}
    for key in ("sensitivity", "specificity", "balanced_accuracy"):
        if key not in treatment or key not in control:
            out[f"{key}_difference"] = out[f"{key}_sd"] = math.nan
            continue
        out[f"{key}_difference"], out[f"{key}_sd"] = _mean_sd(treatment[key].to_numpy(float)
                                                               - control[key].to_numpy(float))  # fmt: skip
    for name in kclass_names(treatment.columns):
        key = f"{PER_CLASS_KEYS['sensitivity_per_class']}_{name}"
        if key in treatment and key in control:
            out[PER_CLASS_DIFFERENCE.format(name)] = float(np.mean(treatment[key].to_numpy(float)
                                                                   - control[key].to_numpy(float)))  # fmt: skip
    return out


def _mean_sd(differences) -> tuple[float, float]:
    """Mean and sd (ddof=1; NaN with one seed) of per-seed differences."""
    differences = np.asarray(differences, float)
    return float(differences.mean()), float(differences.std(ddof=1)) if differences.size > 1 else math.nan


def _compare_pair(arm, control, model, seeds, treatment_auc, control_auc, predictions, alpha) -> dict:
    reference = predictions[(control, model, seeds[0])]
    cases, labels = reference.index, reference["label"].to_numpy(int)

    def scores(name):
        tables = [predictions[(name, model, s)] for s in seeds]
        for table in tables:
            if set(table.index) != set(cases) or not np.array_equal(table.loc[cases, "label"], labels):
                raise DataError(f"results/evaluation/{name}/{model}", "runs were evaluated on different test cases; "
                                "rerun evaluate_classifier for every run")  # fmt: skip
        return np.array([case_scores(t, cases) for t in tables]), tables

    treatment_scores, treatment_tables = scores(arm)
    control_scores, control_tables = scores(control)
    try:
        result = two_source_comparison(treatment_auc[seeds].to_numpy(), control_auc[seeds].to_numpy(), labels,
                                       treatment_scores, control_scores)  # fmt: skip
    except TooFewCases as exc:
        raise DataError("results/data/split.csv", f"the test split is too small to compare arms: {exc}. Raise "
                        "split.test_fraction (or add cases of the rare class)") from None  # fmt: skip
    mcnemar = [mcnemar_exact(t.loc[cases, "prediction"].to_numpy() == labels,
                             c.loc[cases, "prediction"].to_numpy() == labels)["p_value"]
               for t, c in zip(treatment_tables, control_tables)]  # fmt: skip
    accuracy = [np.mean(t.loc[cases, "prediction"].to_numpy() == labels) - np.mean(c.loc[cases, "prediction"] == labels)
                for t, c in zip(treatment_tables, control_tables)]  # fmt: skip
    ci95 = sps.t.ppf(0.975, result["df"]) * result["se"] if np.isfinite(result["df"]) else math.nan
    return {
        "arm": arm, "control": control, "model": model, **result,
        "ci95_low": result["mean_difference"] - ci95, "ci95_high": result["mean_difference"] + ci95,
        "auc_arm": float(treatment_auc[seeds].mean()), "auc_control": float(control_auc[seeds].mean()),
        **dict(zip(("accuracy_difference", "accuracy_sd"), _mean_sd(accuracy))),
        "mcnemar_significant": f"{sum(p < alpha for p in mcnemar)}/{len(mcnemar)}",
        "p_mcnemar_median": float(np.median(mcnemar)),
    }  # fmt: skip


def overfitting_table(metrics: pd.DataFrame, arms, models) -> pd.DataFrame:
    """Per arm: the train-test gap (accuracy, AUC) and its seed-paired difference from baseline's AUC gap, mean and
    sd over seeds. Descriptive, no verdict: the gap's test-set part is shared by every seed, so the seed spread alone
    would understate its variance (docs/statistics.md)."""
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
                differences = own.loc[seeds, "auc_gap"].to_numpy(float) - control.loc[seeds, "auc_gap"].to_numpy(float)
                row.update(gap_difference=float(differences.mean()), n_seeds=len(seeds),
                           gap_sd=float(differences.std(ddof=1)) if len(seeds) > 1 else math.nan)  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows, columns=["arm", "model", "accuracy_gap", "auc_gap", "gap_difference", "gap_sd",
                                       "n_seeds"])  # fmt: skip


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
        "pretrain": f"pre-trained on {extra} {spec.generator} images, fine-tuned on real + augmented copies",
        "pretrain_augmented": f"pre-trained on {extra} further augmented copies, fine-tuned on real + augmented copies "
                              "(equal-compute control)",
    }[spec.kind]


DESIGN_SEEDS = (1, 2, 4, 8)  # multiples of the run's seeds
DESIGN_CASES = (1, 2, 4)  # multiples of the run's test cases


def design_table(comparison: pd.DataFrame, n_test: int, margin: float = MARGIN) -> pd.DataFrame:
    """Per model, for its headline (the study's question): the interval's half-width with more seeds and test cases,
    projected from the measured variance components at the level it is tested at when its gate passes (the last
    look's alpha); ``reaches`` = half-width <= margin / 2.

    Training variance shrinks with seeds only; the test-set part and the seed x case part shrink with test cases
    (both are sampling variance of the test patients, about proportional to 1 / cases).
    """
    rows = []
    for model, group in comparison.groupby("model", sort=False):
        primary = group[group["role"] == PRIMARY]
        head = (primary if len(primary) else group).iloc[0]
        level = head["look_alpha"]  # the headline's level when its gate passes
        components = [head[k] if np.isfinite(head[k]) else 0.0 for k in ("var_seed", "var_seed_case", "var_test")]
        for seeds_factor in DESIGN_SEEDS:
            for cases_factor in DESIGN_CASES:
                n_seeds = int(head["n_pairs"]) * seeds_factor
                half = projected_half_width(*components, n_seeds=n_seeds, case_factor=cases_factor, level=level)
                rows.append({"model": model, "arm": head["arm"], "control": head["control"], "n_seeds": n_seeds,
                             "n_test": n_test * cases_factor, "half_width": half, "reaches": half <= margin / 2})
    return pd.DataFrame(rows, columns=["model", "arm", "control", "n_seeds", "n_test", "half_width", "reaches"])
