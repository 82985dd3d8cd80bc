"""The evidence figures: forest plot of paired differences, dose response, learning curve, validation curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..arm_names import Arm
from .common import plt

VERDICT_COLOURS = {"helps": "tab:green", "hurts": "tab:red", "equivalent": "tab:blue", "inconclusive": "tab:grey"}
SOURCE_STYLE = {"synthetic": "o-", "augmented_equal": "s--", "more_real": "^-."}


ROLE_LABELS = {"positive_control": "positive control", "primary": "the study's question", "secondary": ""}


def forest_figure(comparison: pd.DataFrame, models, margin: float):
    """Every comparison in its testing order (positive controls, the study's question in bold, the rest): point =
    mean AUC difference over seeds, thick bar = seed-only 95% CI, thin bar = the interval that decides the verdict
    (both sources of variance, at the level it was tested at; an arrow for a one-sided one, dotted = the 95% interval
    of a row that was not tested); colour and label = the verdict; shaded band = ± the equivalence margin; a row
    whose generator fails its quality floor is marked (``gen_quality_ok`` False)."""
    models = [m for m in models if m in set(comparison["model"])]
    n_rows = max([int((comparison["model"] == m).sum()) for m in models] + [1])
    fig, axes = plt.subplots(1, max(len(models), 1), figsize=(11.5 * max(len(models), 1), 1.5 + 0.45 * n_rows),
                             squeeze=False)  # fmt: skip
    for ax, model in zip(axes.flat, models):
        rows = comparison[comparison["model"] == model].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        ax.axvspan(-margin, margin, color="tab:blue", alpha=0.08, zorder=0, label=f"± margin ({margin:g}): equivalent")
        ax.axvline(0, color="black", lw=0.8)
        for yi, row in zip(y, rows.itertuples(index=False)):
            colour = VERDICT_COLOURS.get(row.verdict, "black")
            tested = row.interval in ("difference", "equivalence", "one-sided")
            low, high = (row.ci_low, row.ci_high) if tested else (row.ci95_low, row.ci95_high)
            if np.isfinite(low):
                high = high if np.isfinite(high) else max(row.mean_difference, 0) + 2 * margin
                ax.plot([low, high], [yi, yi], color=colour, lw=1.2, ls="-" if tested else ":")
                if row.interval == "one-sided":
                    ax.annotate("", (high, yi), (high - 1e-9, yi), arrowprops={"arrowstyle": "->", "color": colour})
            if np.isfinite(row.seed_ci_low):
                ax.plot([row.seed_ci_low, row.seed_ci_high], [yi, yi], color=colour, lw=4, alpha=0.6)
            ax.plot(row.mean_difference, yi, "o", color=colour, ms=7 if row.role == "primary" else 5)
            what = f"{100 * row.confidence:.1f}% {row.interval}" if tested else (row.reason or "not tested")
            flag = "  [generator below its quality floor]" if row.gen_quality_ok is False else ""
            ax.annotate(f"{row.mean_difference:+.3f}  {row.verdict}  ({what}){flag}", (1.01, yi),
                        xycoords=("axes fraction", "data"), va="center", fontsize=7, color=colour)
        labels = [" ".join(filter(None, [ROLE_LABELS.get(r.role, ""), f"{r.arm} vs {r.control}"]))
                  for r in rows.itertuples(index=False)]  # fmt: skip
        ax.set_yticks(y, labels, fontsize=8)
        for tick, row in zip(ax.get_yticklabels(), rows.itertuples(index=False)):
            if row.role == "primary":
                tick.set_fontweight("bold")
            if row.gen_quality_ok is False:
                tick.set_color("tab:red")
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel("AUC difference, arm minus control (paired by seed)")
        ax.set_title(f"{model}: can the design detect a benefit? then the study's question, then the rest "
                     "(red label: generator below its quality floor)", fontsize=9)
        ax.legend(loc="lower left", fontsize=6, frameon=False)
    fig.tight_layout()
    return fig


def _source_label(spec: Arm) -> str:
    return f"synthetic ({spec.generator})" if spec.kind == "synthetic" else spec.kind


def dose_points(table: pd.DataFrame, n_real: int) -> pd.DataFrame:
    """Mean AUC with its seed interval per source and number of extra images; baseline is every source's 0."""
    rows = []
    for row in table.itertuples(index=False):
        spec = Arm.parse(row.arm)
        if spec.kind in SOURCE_STYLE and spec.fraction == 1:
            rows.append({"model": row.model, "source": _source_label(spec), "kind": spec.kind,
                         "extra_images": spec.extra_images(n_real), "auc": row.auc_mean, "low": row.auc_ci_low,
                         "high": row.auc_ci_high})  # fmt: skip
    points = pd.DataFrame(rows, columns=["model", "source", "kind", "extra_images", "auc", "low", "high"])
    base = table[table["arm"] == "baseline"]
    zeros = [{"model": b.model, "source": s, "kind": k, "extra_images": 0, "auc": b.auc_mean, "low": b.auc_ci_low,
              "high": b.auc_ci_high} for b in base.itertuples(index=False)
             for s, k in points[points["model"] == b.model][["source", "kind"]].drop_duplicates().itertuples(index=False)]
    return pd.concat([pd.DataFrame(zeros, columns=points.columns), points], ignore_index=True).sort_values(
        ["model", "source", "extra_images"], ignore_index=True)  # fmt: skip


def dose_response_figure(table: pd.DataFrame, models, n_real: int, ceiling: float | None = None):
    """Test AUC against the number of extra training images, one line per source (seed 95% intervals)."""
    points = dose_points(table, n_real)
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes.flat, models):
        for i, (source, group) in enumerate(points[points["model"] == model].groupby("source", sort=False)):
            low = (group["auc"] - group["low"]).fillna(0)
            high = (group["high"] - group["auc"]).fillna(0)
            offset = (i - 1) * 0.006 * max(n_real, 1)  # keep overlapping intervals apart
            ax.errorbar(group["extra_images"] + offset, group["auc"], yerr=[low, high],
                        fmt=SOURCE_STYLE[group["kind"].iloc[0]], capsize=3, label=source, color=f"C{i}")
        if ceiling is not None:
            ax.axhline(ceiling, ls="--", color="darkred", lw=1, label=f"Bayes-optimal AUC {ceiling:.3f}")
        _auc_limits(ax)
        ax.set_xlabel(f"extra training images (real training images: {n_real})")
        ax.set_ylabel("test AUC (mean over seeds, 95% CI)")
        ax.set_title(f"{model}: dose response", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def learning_curve_figure(table: pd.DataFrame, models, n_real: int, ceiling: float | None = None):
    """Baseline test AUC against the share of training patients, with the phantom's Bayes ceiling."""
    curve = table[table["kind"] == "baseline"].sort_values("fraction")
    fig, axes = plt.subplots(1, len(models), figsize=(5.0 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes.flat, models):
        group = curve[curve["model"] == model]
        yerr = [(group["auc_mean"] - group["auc_ci_low"]).fillna(0), (group["auc_ci_high"] - group["auc_mean"]).fillna(0)]
        ax.errorbar(100 * group["fraction"], group["auc_mean"], yerr=yerr, fmt="o-", capsize=3, label="baseline")
        if ceiling is not None:
            ax.axhline(ceiling, ls="--", color="darkred", lw=1.2, label=f"Bayes-optimal AUC {ceiling:.3f}")
        _auc_limits(ax)
        ax.set_xlim(0, 105)
        ax.set_xlabel(f"% of training patients (100% = {n_real} images)")
        ax.set_ylabel("test AUC (mean over seeds, 95% CI)")
        ax.set_title(f"{model}: learning curve", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _auc_limits(ax) -> None:
    """Keep the AUC axis within [0, 1] (intervals from few seeds can reach past it)."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, 0.0), min(high, 1.02))


def validation_curves_figure(histories: pd.DataFrame, arms, models):
    """Validation AUC per epoch, mean over seeds, one line per arm (where overfitting shows as a falling curve)."""
    fig, axes = plt.subplots(1, len(models), figsize=(6.0 * len(models), 3.8), squeeze=False)
    for ax, model in zip(axes.flat, models):
        runs = histories[histories["model"] == model]
        for i, arm in enumerate(a for a in arms if a in set(runs["arm"])):
            curve = runs[runs["arm"] == arm].groupby("epoch")["val_auc"].mean()
            ax.plot(curve.index, curve.to_numpy(), marker=".", lw=1, color=f"C{i % 10}",
                    ls="-" if i < 10 else "--", label=arm)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("validation AUC (mean over seeds)")
        ax.set_title(f"{model}: validation curves", fontsize=9)
        ax.legend(fontsize=6, ncol=2, loc="lower right")
    fig.tight_layout()
    return fig
