"""Summary: per-run rows, mean ± sd matching numpy, paired comparison matching scipy, the Bayes ceiling, files."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from synthaug.errors import DataError
from synthaug.plots.common import save_figure
from synthaug.plots.evaluation import auc_by_arm_figure
from synthaug.summary import (
    bayes_ceiling,
    best_seeds,
    comparison_table,
    markdown_report,
    read_run_metrics,
    summary_table,
)

ARMS, MODELS, SEEDS = ["baseline", "combined"], ["simple_cnn"], [0, 1, 2]
AUCS = {"baseline": [0.74, 0.77, 0.72], "combined": [0.78, 0.79, 0.73]}


def _write_runs(root, aucs=AUCS, seeds=SEEDS):
    paths = []
    for arm, values in aucs.items():
        for seed, auc in zip(seeds, values):
            path = root / "evaluation" / arm / "simple_cnn" / f"seed{seed}" / "metrics.json"
            path.parent.mkdir(parents=True)
            metrics = {"accuracy": auc - 0.05, "auc": auc, "sensitivity": 0.7, "specificity": 0.6 + seed / 100,
                       "precision": 0.65, "f1": 0.67, "train_accuracy": 0.9, "n_test": 100,
                       "confusion_matrix": [[30, 20], [15, 35]], "auc_ci_low": auc - 0.1, "auc_ci_high": auc + 0.1}
            path.write_text(json.dumps(metrics))
            paths.append(path)
    return paths


@pytest.fixture
def metrics(tmp_path):
    return read_run_metrics(_write_runs(tmp_path))


def test_one_row_per_run_with_flattened_confusion_matrix(metrics):
    assert len(metrics) == 6
    assert set(metrics["arm"]) == set(ARMS) and sorted(metrics["seed"].unique()) == SEEDS
    assert metrics.loc[0, ["tn", "fp", "fn", "tp"]].tolist() == [30, 20, 15, 35]


def test_mean_and_sd_match_numpy_and_interval_contains_the_mean(metrics):
    table = summary_table(metrics, ARMS, MODELS)
    assert table["arm"].tolist() == ARMS
    row = table.set_index("arm").loc["combined"]
    assert row["auc_mean"] == pytest.approx(np.mean(AUCS["combined"]))
    assert row["auc_sd"] == pytest.approx(np.std(AUCS["combined"], ddof=1))
    assert row["auc_ci_low"] < row["auc_mean"] < row["auc_ci_high"]
    assert row["n_seeds"] == 3


def test_comparison_is_the_paired_t_test(metrics):
    comparison = comparison_table(metrics, ARMS, MODELS)
    assert comparison["arm"].tolist() == ["combined"]
    row = comparison.iloc[0]
    expected = sps.ttest_rel(AUCS["combined"], AUCS["baseline"])
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert row["mean_difference"] == pytest.approx(np.mean(np.subtract(AUCS["combined"], AUCS["baseline"])))
    assert row["ci_low"] < row["mean_difference"] < row["ci_high"]
    assert row["verdict"] == "no clear difference"


def test_one_seed_says_na(tmp_path):
    metrics = read_run_metrics(_write_runs(tmp_path, {"baseline": [0.7], "combined": [0.8]}, [0]))
    comparison = comparison_table(metrics, ARMS, MODELS)
    assert np.isnan(comparison.loc[0, "p_value"]) and comparison.loc[0, "verdict"] == "n/a (one seed)"
    text = markdown_report(summary_table(metrics, ARMS, MODELS), comparison, best_seeds(metrics))
    assert "n/a" in text


def test_best_seed_and_markdown_label_it_and_quote_the_study(metrics):
    best = best_seeds(metrics).set_index("arm")
    assert best.loc["combined", "seed"] == 1 and best.loc["baseline", "auc"] == pytest.approx(0.77)
    text = markdown_report(summary_table(metrics, ARMS, MODELS), comparison_table(metrics, ARMS, MODELS),
                           best_seeds(metrics), ceiling=0.83)
    assert "a best-of-trials figure, not an estimate" in text
    assert "Does it help?" in text and "0.89" in text and "0.75" in text
    assert "0.830" in text and "0.743 ± 0.025" in text


def test_bayes_ceiling_uses_the_test_cases_only(tmp_path):
    split = pd.DataFrame({"case_id": [f"c{i}" for i in range(8)], "patient_id": range(8),
                          "label": [0, 1, 0, 1, 0, 1, 1, 0], "split": ["train"] * 2 + ["test"] * 6})
    truth = split[["case_id", "label"]].assign(p_malignant=[0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.7, 0.3])
    split.to_csv(tmp_path / "split.csv", index=False)
    truth.to_csv(tmp_path / "ground_truth.csv", index=False)
    test = truth.iloc[2:]
    expected = roc_auc_score(test["label"], test["p_malignant"])
    assert bayes_ceiling(tmp_path / "split.csv", tmp_path / "ground_truth.csv") == pytest.approx(expected)
    truth.iloc[:5].to_csv(tmp_path / "ground_truth.csv", index=False)
    with pytest.raises(DataError, match="ground_truth.csv"):
        bayes_ceiling(tmp_path / "split.csv", tmp_path / "ground_truth.csv")


def test_bad_metrics_file_names_the_file(tmp_path):
    path = tmp_path / "evaluation" / "baseline" / "simple_cnn" / "seed0" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"auc": 0.7}')
    with pytest.raises(DataError, match="seed0/metrics.json.*missing keys"):
        read_run_metrics([path])


def test_auc_figure_is_written(metrics, tmp_path):
    save_figure(auc_by_arm_figure(metrics, ARMS, MODELS, ceiling=0.83), tmp_path / "auc_by_arm.png")
    assert (tmp_path / "auc_by_arm.png").stat().st_size > 5000
