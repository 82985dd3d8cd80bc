"""The run's results laid out as the study's Table I, with the study's own figures beside them.

Rows follow the study: its simple CNN, the CNN after Optuna tuning, VGG16 as a fixed ImageNet base,
InceptionResNetV2, and InceptionResNetV2 trained on real + CGAN images (the synthetic arm at
classifier.synthetic_ratio, the study's 1:2: ``synthetic-cgan-r0.5``) as a mean over seeds and as its best seed.
The best seed is labelled for what it is, a best-of-trials figure and not an estimate: the study's 0.86 / 0.89 is
such a figure. Rows whose arm and model did not run say so. A second run with another split strategy (e.g. the
study's leaky random split) can be shown beside this one.

A k-class run (issue 28) fills the same layout with its own figures: accuracy of the most probable class and the
macro one-vs-rest AUC. The study's figures stay beside them for the layout, but they are a two-class task's (benign
vs malignant), so the table says that they are not comparable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arm_names import Arm
from .summary_markdown import md_row, mean_sd

BEST = "best"
MEAN = "mean"
CGAN = Arm("synthetic", "cgan")  # real + CGAN images; its name in results carries the ratio (synthaug.arm_names)
# (label, arm, model, mean over seeds or best seed, the study's train accuracy, test accuracy, AUC)
ROWS = (
    ("Simple CNN", "baseline", "simple_cnn", MEAN, 0.531, 0.55, 0.49),
    ("Simple CNN (Optuna)", "baseline", "simple_cnn_tuned", MEAN, 0.527, 0.56, 0.50),
    ("VGG16 (fixed base, ImageNet)", "baseline", "vgg16", MEAN, 0.529, 0.57, 0.52),
    ("InceptionResNetV2", "baseline", "inception_resnet_v2", MEAN, 0.97, 0.71, 0.75),
    ("InceptionResNetV2 + CGAN (mean over seeds)", CGAN, "inception_resnet_v2", MEAN, 0.96, 0.71, 0.76),
    ("InceptionResNetV2 + CGAN, best trial (best seed: not an estimate)", CGAN, "inception_resnet_v2", BEST,
     0.91, 0.86, 0.89),
)
STUDY_RATIO = 0.5  # the study's 550 synthetic images on 1,100 real ones
METRICS = ("train_accuracy", "accuracy", "auc")


def _cells(metrics: pd.DataFrame, arm: str, model: str, how: str) -> dict:
    runs = metrics[(metrics["arm"] == arm) & (metrics["model"] == model)]
    if runs.empty:
        return {"n_seeds": 0, **{k: np.nan for k in METRICS}, **{f"{k}_sd": np.nan for k in METRICS}, "seed": None}
    if how == BEST:
        best = runs.loc[runs["auc"].idxmax()]
        return {"n_seeds": len(runs), **{k: best[k] for k in METRICS}, **{f"{k}_sd": np.nan for k in METRICS},
                "seed": int(best["seed"])}
    return {"n_seeds": len(runs), **{k: runs[k].mean() for k in METRICS},
            **{f"{k}_sd": runs[k].std(ddof=1) if len(runs) > 1 else np.nan for k in METRICS}, "seed": None}


def paper_table(metrics: pd.DataFrame, other: pd.DataFrame | None = None, *, vgg16_pretrained: bool = True,
                synthetic_ratio: float = STUDY_RATIO):
    """One row per Table I row: this run's train/test accuracy and AUC (mean and sd, or the best seed), the
    other split's test accuracy and AUC if ``other`` is given, and the study's figures. The CGAN rows take the
    synthetic arm at ``synthetic_ratio`` (classifier.synthetic_ratio): a dose sweep's other ratios are not the
    study's setting."""
    rows = []
    for label, arm, model, how, study_train, study_acc, study_auc in ROWS:
        if isinstance(arm, Arm):
            arm = Arm(arm.kind, arm.generator, synthetic_ratio).name
        if model == "vgg16" and not vgg16_pretrained:
            label = "VGG16 (from scratch: classifier.weights.vgg16 is null)"
        row = {"row": label, "arm": arm, "model": model, **_cells(metrics, arm, model, how)}
        if other is not None:
            other_cells = _cells(other, arm, model, how)
            row.update({f"other_{k}": other_cells[k] for k in ("accuracy", "auc", "accuracy_sd", "auc_sd", "seed")})
        rows.append({**row, "study_train_accuracy": study_train, "study_accuracy": study_acc, "study_auc": study_auc})
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame, split: str, other_split: str | None = None, classes=()) -> str:
    """paper_table.md: Table I's layout; ``split`` (and ``other_split``) name the split strategies compared;
    ``classes``: a k-class run's class names (:func:`synthaug.summary.kclass_names`), none for a binary one."""
    other = other_split is not None and "other_auc" in table
    auc = "macro AUC" if classes else "AUC"
    header = ["classifier", "seeds", "train accuracy", f"test accuracy ({split} split)", f"{auc} ({split} split)"]
    if other:
        header += [f"test accuracy ({other_split} split)", f"{auc} ({other_split} split)"]
    header += ["study: train accuracy", "study: test accuracy", "study: AUC"]
    lines = ["# Table I, as the study laid it out", ""] + md_row(header, header=True)
    for r in table.itertuples(index=False):
        label = r.row if r.seed is None or pd.isna(r.seed) else f"{r.row}, seed {int(r.seed)}"
        if r.n_seeds == 0:
            cells = [label, 0, "not run", "not run", "not run"]
        else:
            cells = [label, r.n_seeds, *(_fmt(getattr(r, k), getattr(r, f"{k}_sd")) for k in METRICS)]
        if other:
            seed = "" if r.other_seed is None or pd.isna(r.other_seed) else f" (seed {int(r.other_seed)})"
            cells += [_fmt(r.other_accuracy, r.other_accuracy_sd) + seed, _fmt(r.other_auc, r.other_auc_sd) + seed]
        cells += [f"{r.study_train_accuracy:.3f}", f"{r.study_accuracy:.2f}", f"{r.study_auc:.2f}"]
        lines += md_row(cells)
    lines += ["", "Means ± sd over seeds on the test split; the best-trial row is the seed with the highest test AUC, "
                  "a best-of-trials figure like the study's own, not an estimate of what the method does. "
                  "\"Simple CNN (Optuna)\" trains with the parameters tuned on the validation split "
                  "(results/tune/simple_cnn/best_params.json). The study's split was random by image, so the same "
                  "patient could be in train and test; the grouped split keeps patients apart."]
    if classes:
        lines += ["", f"**This run has {len(classes)} classes** ({', '.join(classes)}): its accuracy is that of the "
                  "most probable class (chance about 1 / k, not 1 / 2) and its AUC the macro one-vs-rest AUC. The "
                  "study's figures are for its two classes (benign vs malignant masses), so they stand beside this "
                  "run's for the layout only and are not comparable with them."]  # fmt: skip
    return "\n".join(lines) + "\n"


def _fmt(value, sd) -> str:
    return "not run" if pd.isna(value) else mean_sd(value, sd)
