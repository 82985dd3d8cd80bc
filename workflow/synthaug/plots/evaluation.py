"""Evaluation figures: a run's confusion matrix and ROC curve, and the AUC of every arm over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from ..constants import CLASS_NAMES
from ..metrics import roc_points
from .common import plt


def confusion_matrix_figure(matrix, title: str = "", names=CLASS_NAMES):
    """Counts and row percentages (share of each true class), shaded by the percentage, like the study's figure;
    ``names``: the classes, in label order (k x k for k classes)."""
    matrix = np.asarray(matrix)
    k = len(matrix)
    percent = 100 * matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = max(0, k - 2)
    fig, ax = plt.subplots(figsize=(3.8 + 1.1 * side, 3.4 + 1.0 * side))
    ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, f"{count}\n({percent[i, j]:.1f}%)", ha="center", va="center",
                color="white" if percent[i, j] > 60 else "black", fontsize=11 if k <= 3 else 8)
    ax.set_xticks(range(k), names, rotation=0 if k <= 3 else 30)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def roc_figure(labels, probabilities, auc: float, ci: tuple[float, float], title: str = "", names=CLASS_NAMES):
    """The ROC curve with its AUC and bootstrap interval in the legend, and the chance diagonal. k classes
    (``(n_cases, k)`` probabilities): one one-vs-rest curve per class (``names``), the macro AUC in the title."""
    probabilities = np.asarray(probabilities)
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    if probabilities.ndim == 1:
        fpr, tpr = roc_points(labels, probabilities)
        ax.plot(fpr, tpr, lw=1.8, label=f"AUC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})")
    else:
        labels = np.asarray(labels)
        for j, name in enumerate(names):
            fpr, tpr = roc_points(labels == j, probabilities[:, j])
            ax.plot(fpr, tpr, lw=1.4, label=f"{name} vs rest")
        title = f"{title}\nmacro AUC {auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})"
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="chance")
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def auc_by_arm_figure(metrics: pd.DataFrame, arms, models, ceiling: float | None = None):
    """One panel per model: bars = mean test AUC per arm, whiskers = sd over seeds, points = single seeds.

    ``ceiling`` (the phantom's Bayes-optimal AUC) is drawn as a dashed line.
    """
    arms = [arm for arm in arms if arm in set(metrics["arm"])]
    fig, axes = plt.subplots(1, len(models), figsize=(2.0 + 0.7 * len(arms) * len(models), 3.8), squeeze=False,
                             sharey=True)
    for ax, model in zip(axes.flat, models):
        for x, arm in enumerate(arms):
            aucs = metrics.loc[(metrics["arm"] == arm) & (metrics["model"] == model), "auc"].to_numpy(float)
            if aucs.size == 0:
                continue
            sd = np.std(aucs, ddof=1) if aucs.size > 1 else 0.0
            ax.bar(x, aucs.mean(), width=0.6, color=f"C{x}", alpha=0.6, yerr=sd, capsize=4)
            jitter = np.linspace(-0.12, 0.12, aucs.size) if aucs.size > 1 else np.zeros(1)
            ax.scatter(x + jitter, aucs, color="black", s=12, zorder=3)
        if ceiling is not None:
            ax.axhline(ceiling, ls="--", color="darkred", lw=1.2, label=f"Bayes-optimal AUC {ceiling:.3f}")
            ax.legend(loc="lower right", fontsize=7)
        ax.axhline(0.5, ls=":", color="grey", lw=1)
        ax.set_xticks(range(len(arms)), arms, rotation=30, ha="right", fontsize=7)
        ax.set_title(f"{model}: test AUC by arm (bars: mean, whiskers: sd, dots: seeds)", fontsize=9)
        ax.set_ylim(min(0.4, metrics["auc"].min() - 0.05), 1.0)
    axes[0, 0].set_ylabel("test AUC (mean ± sd over seeds)")
    fig.tight_layout()
    return fig
