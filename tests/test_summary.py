"""Summary: per-run rows with parsed arm names, mean ± sd matching numpy, the comparisons a reader needs in their
testing order (positive controls, the study's question, each GAN arm against its base and its equal-count controls)
with both sources of variance, the intervals that decide and the verdicts on runs with known answers, looks of
seeds until decided, overfitting, power, the Bayes ceiling and the files."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from synthaug.errors import DataError
from synthaug.plots.common import save_figure
from synthaug.plots.evaluation import auc_by_arm_figure
from synthaug.plots.evidence import (
    dose_points,
    dose_response_figure,
    forest_figure,
    learning_curve_figure,
    validation_curves_figure,
)
from synthaug.summary import (
    COMPARISON_COLUMNS,
    bayes_ceiling,
    best_seeds,
    compare,
    comparison_pairs,
    look_decision,
    design_table,
    overfitting_table,
    read_histories,
    read_predictions,
    read_run_metrics,
    summary_table,
)
from synthaug.summary_markdown import markdown_report

MODELS, SEEDS, N_TEST, N_REAL = ["simple_cnn"], [0, 1, 2, 3, 4], 400, 200
# Signal strength of each arm's test scores: helps = much stronger, hurts = much weaker, the rest like baseline.
SIGNAL = {"baseline": 1.0, "augmented": 1.0, "synthetic-cgan-r0.5": 2.5, "combined-cgan-r0.5": 2.5,
          "augmented_equal-r0.5": 1.0, "more_real-r0.5": 2.5, "augmented_extra-r0.5": 1.0,
          "augmented_more_real-r0.5": 2.5, "synthetic_only-cgan": 0.3, "baseline-f0.5": 0.8}  # fmt: skip
ARMS = list(SIGNAL)


def _write_runs(root, signal=SIGNAL, seeds=SEEDS):
    """metrics.json, predictions.csv and history.csv for every run, from scores with a known ordering of arms."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, N_TEST)
    difficulty = rng.normal(0, 1, N_TEST)  # shared by all runs: the same test cases
    paths = []
    for arm, strength in signal.items():
        for seed in seeds:
            run = root / "evaluation" / arm / "simple_cnn" / f"seed{seed}"
            run.mkdir(parents=True)
            score = strength * labels + difficulty + rng.normal(0, 0.5, N_TEST)
            probability = 1 / (1 + np.exp(-(score - strength / 2)))
            prediction = (probability >= 0.5).astype(int)
            pd.DataFrame({"case_id": [f"c{i:03d}" for i in range(N_TEST)], "label": labels,
                          "probability": probability, "prediction": prediction}).to_csv(run / "predictions.csv",
                                                                                        index=False)  # fmt: skip
            tn, fp = int(np.sum((labels == 0) & (prediction == 0))), int(np.sum((labels == 0) & (prediction == 1)))
            fn, tp = int(np.sum((labels == 1) & (prediction == 0))), int(np.sum((labels == 1) & (prediction == 1)))
            auc = roc_auc_score(labels, probability)
            metrics = {"accuracy": (tn + tp) / N_TEST, "auc": auc, "sensitivity": tp / (tp + fn),
                       "specificity": tn / (tn + fp), "precision": tp / (tp + fp), "f1": 0.5,
                       "train_accuracy": 0.95 - 0.02 * strength, "train_auc": 0.99, "n_test": N_TEST,
                       "confusion_matrix": [[tn, fp], [fn, tp]], "auc_ci_low": auc - 0.05, "auc_ci_high": auc + 0.05}
            (run / "metrics.json").write_text(json.dumps(metrics))
            history = root / "classifiers" / arm / "simple_cnn" / f"seed{seed}" / "history.csv"
            history.parent.mkdir(parents=True)
            pd.DataFrame({"epoch": [1, 2, 3], "val_auc": [0.6, 0.7 + strength / 20, 0.68]}).to_csv(history, index=False)
            paths.append(run / "metrics.json")
    return paths


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    paths = _write_runs(root)
    metrics = read_run_metrics(paths)
    predictions = read_predictions([p.with_name("predictions.csv") for p in paths])
    histories = read_histories(sorted(root.glob("classifiers/*/*/*/history.csv")))
    return metrics, predictions, histories


def test_one_row_per_run_with_parsed_arm_names(runs):
    metrics = runs[0]
    assert len(metrics) == len(ARMS) * len(SEEDS)
    assert {"arm", "kind", "generator", "ratio", "fraction", "model", "seed", "auc", "accuracy"} <= set(metrics)
    row = metrics[metrics["arm"] == "synthetic-cgan-r0.5"].iloc[0]
    assert (row["kind"], row["generator"], row["ratio"], row["fraction"]) == ("synthetic", "cgan", 0.5, 1.0)
    base = metrics[metrics["arm"] == "baseline-f0.5"].iloc[0]
    assert base["generator"] == "" and np.isnan(base["ratio"]) and base["fraction"] == 0.5
    assert {"tn", "fp", "fn", "tp"} <= set(metrics) and "confusion_matrix" not in metrics


def test_mean_and_sd_match_numpy_and_interval_contains_the_mean(runs):
    metrics = runs[0]
    table = summary_table(metrics, ARMS, MODELS)
    assert table["arm"].tolist() == ARMS
    aucs = metrics.loc[metrics["arm"] == "baseline", "auc"].to_numpy()
    row = table.set_index("arm").loc["baseline"]
    assert row["auc_mean"] == pytest.approx(aucs.mean()) and row["auc_sd"] == pytest.approx(aucs.std(ddof=1))
    assert row["auc_ci_low"] < row["auc_mean"] < row["auc_ci_high"]
    assert row["auc_gap_mean"] == pytest.approx(0.99 - aucs.mean())


def _comparison(metrics, predictions, arms=ARMS, margin=0.02):
    return compare(metrics, predictions, comparison_pairs(arms), MODELS, margin=margin)


def test_the_positive_controls_come_first_then_the_study_question_then_the_rest():
    rows = comparison_pairs(ARMS)
    assert [(arm, control, role) for arm, control, _, role in rows] == [
        ("augmented_more_real-r0.5", "augmented", "positive_control"), ("more_real-r0.5", "baseline", "positive_control"),
        ("combined-cgan-r0.5", "augmented", "primary"),
        ("combined-cgan-r0.5", "augmented_extra-r0.5", "secondary"),
        ("combined-cgan-r0.5", "augmented_more_real-r0.5", "secondary"),
        ("synthetic-cgan-r0.5", "baseline", "secondary"),
        ("synthetic-cgan-r0.5", "augmented_equal-r0.5", "secondary"), ("synthetic-cgan-r0.5", "more_real-r0.5", "secondary"),
        ("augmented", "baseline", "secondary"), ("synthetic_only-cgan", "baseline", "secondary"),
    ]  # fmt: skip
    questions = [row[2] for row in rows]
    assert questions[0].startswith("Can this design detect a benefit on top of classic augmentation?")
    assert questions[2] == "Do cgan images help on top of classic augmentation?"
    assert len(set(questions)) == len(questions)  # one question per row
    # Without its controls the row is left out, not compared with something else; so are the positive controls.
    real_data = [a for a in ARMS if "more_real" not in a]
    assert {r[3] for r in comparison_pairs(real_data)} == {"primary", "secondary"}


def test_comparison_gives_the_known_verdicts_in_the_testing_order(runs):
    metrics, predictions, _ = runs
    comparison = _comparison(metrics, predictions)
    assert comparison["role"].tolist()[:3] == ["positive_control", "positive_control", "primary"]
    indexed = comparison.set_index(["arm", "control"])
    verdicts = indexed["verdict"].to_dict()
    assert verdicts[("augmented_more_real-r0.5", "augmented")] == "helps"
    assert verdicts[("more_real-r0.5", "baseline")] == "helps"
    assert verdicts[("combined-cgan-r0.5", "augmented")] == "helps"
    assert verdicts[("combined-cgan-r0.5", "augmented_extra-r0.5")] == "helps"
    assert verdicts[("synthetic-cgan-r0.5", "augmented_equal-r0.5")] == "helps"
    assert verdicts[("synthetic_only-cgan", "baseline")] == "hurts"
    assert comparison["assay_sensitive"].eq(True).all()
    assert set(indexed.loc[("combined-cgan-r0.5", "augmented"), ["base", "generator"]]) == {"augmented", "cgan"}
    # The gates passed, so the study's question is tested at the full alpha, not alpha / 10.
    assert indexed.loc[("combined-cgan-r0.5", "augmented"), "level"] == pytest.approx(0.05)
    row = indexed.loc[("augmented", "baseline")]
    diffs = (metrics[metrics["arm"] == "augmented"]["auc"].to_numpy()
             - metrics[metrics["arm"] == "baseline"]["auc"].to_numpy())  # fmt: skip
    assert row["mean_difference"] == pytest.approx(diffs.mean())
    assert row["p_seeds"] == pytest.approx(sps.ttest_1samp(diffs, 0).pvalue)
    assert row["ci95_low"] < row["mean_difference"] < row["ci95_high"]
    assert row["se"] ** 2 == pytest.approx(row["se_train"] ** 2 + row["se_test"] ** 2)  # both sources, once each
    assert row["df"] >= len(SEEDS) - 1
    assert 0 < row["mdd"] and row["mcnemar_significant"].endswith("/5")


def test_a_failed_positive_control_stops_the_rest_and_allows_no_equivalence(tmp_path):
    signal = {**SIGNAL, "more_real-r0.5": 1.0, "augmented_more_real-r0.5": 1.0}  # real images of new patients: no help
    paths = _write_runs(tmp_path, signal)
    metrics = read_run_metrics(paths)
    predictions = read_predictions([p.with_name("predictions.csv") for p in paths])
    comparison = _comparison(metrics, predictions, margin=0.5)  # a margin any row would fit inside
    assert (comparison.loc[comparison["role"] == "positive_control", "verdict"] == "inconclusive").all()
    rest = comparison[comparison["role"] != "positive_control"]
    assert (rest["verdict"] == "inconclusive").all() and rest["reason"].str.contains("not tested").all()
    assert not comparison["assay_sensitive"].any()
    assert look_decision(comparison)["stop"] is False


def test_every_interval_agrees_with_its_verdict(runs):
    metrics, predictions, _ = runs
    for margin in (0.005, 0.02, 0.2):
        comparison = _comparison(metrics, predictions, margin=margin)
        excludes_zero = (comparison["ci_low"] > 0) | (comparison["ci_high"] < 0)
        decided = comparison["verdict"].isin(["helps", "hurts"])
        assert (excludes_zero[comparison["interval"] != "equivalence"] == decided).all()
        inside = (comparison["ci_low"] > -margin) & (comparison["ci_high"] < margin)
        assert (comparison["verdict"] == "equivalent").eq(inside & (comparison["interval"] == "equivalence")).all()
        assert (comparison.loc[decided, "p_holm"] <= 0.05 + 1e-6).all()
    wide = _comparison(metrics, predictions, margin=0.2).set_index(["arm", "control"])
    assert wide.loc[("combined-cgan-r0.5", "augmented_extra-r0.5"), "verdict"] == "helps"


def test_seeds_until_decided_spends_alpha_over_looks_and_keeps_earlier_claims(runs):
    metrics, predictions, _ = runs
    pairs = comparison_pairs(ARMS)
    one = compare(metrics, predictions, pairs, MODELS)
    two = compare(metrics, predictions, pairs, MODELS, looks=[3, 5], max_seeds=5)
    assert (one["n_looks"] == 1).all() and (two["n_looks"] == 2).all()
    # O'Brien-Fleming spending: the second look gets less than the whole alpha, so no row is tested looser.
    assert two["look_alpha"].max() < 0.05 and set(two["look"]) <= {1, 2}
    for_one = one.set_index(["arm", "control"])["verdict"]
    for row in two.itertuples(index=False):
        if row.verdict in ("helps", "hurts", "equivalent"):
            assert for_one[(row.arm, row.control)] == row.verdict
    assert look_decision(one) == {"stop": True, "reason": "the positive controls and the study's question are decided"}


def test_sensitivity_and_specificity_differences_are_paired_by_seed(runs):
    metrics, predictions, _ = runs
    row = _comparison(metrics, predictions).iloc[2]
    runs_of = lambda arm: metrics[metrics["arm"] == arm].sort_values("seed")  # noqa: E731
    expected = runs_of(row["arm"])["sensitivity"].to_numpy() - runs_of(row["control"])["sensitivity"].to_numpy()
    assert row["sensitivity_difference"] == pytest.approx(expected.mean())
    assert row["sensitivity_sd"] == pytest.approx(expected.std(ddof=1))
    expected = runs_of(row["arm"])["accuracy"].to_numpy() - runs_of(row["control"])["accuracy"].to_numpy()
    assert row["accuracy_difference"] == pytest.approx(expected.mean())
    assert row["accuracy_sd"] == pytest.approx(expected.std(ddof=1))
    # A binary metrics.json has no balanced accuracy (its sensitivity and specificity are the two classes'), and a
    # binary experiment no per-class columns: comparison.csv keeps the contract's columns exactly.
    assert np.isnan(row["balanced_accuracy_difference"]) and np.isnan(row["balanced_accuracy_sd"])
    assert list(_comparison(metrics, predictions).columns) == list(COMPARISON_COLUMNS)


def test_overfitting_and_design(runs):
    metrics, predictions, _ = runs
    overfitting = overfitting_table(metrics, ARMS, MODELS).set_index("arm")
    assert overfitting.loc["baseline", "accuracy_gap"] == pytest.approx(
        0.93 - metrics.loc[metrics["arm"] == "baseline", "accuracy"].mean())
    assert "gap_verdict" not in overfitting  # descriptive: the seed spread alone cannot carry a verdict
    gaps = lambda arm: (0.99 - metrics[metrics["arm"] == arm].sort_values("seed")["auc"]).to_numpy()  # noqa: E731
    expected = gaps("synthetic-cgan-r0.5") - gaps("baseline")
    assert overfitting.loc["synthetic-cgan-r0.5", "gap_sd"] == pytest.approx(expected.std(ddof=1))
    comparison = _comparison(metrics, predictions)
    design = design_table(comparison, N_TEST)
    head = comparison[comparison["role"] == "primary"].iloc[0]
    now = design[(design["n_seeds"] == len(SEEDS)) & (design["n_test"] == N_TEST)].iloc[0]
    # The projection starts at the run (up to the training component clipped at 0 when the seed spread falls below
    # DeLong's seed x case estimate), at the study question's level.
    assert now["half_width"] == pytest.approx(sps.t.ppf(0.975, head["df"]) * head["se"], rel=0.1)
    assert design.groupby("n_test")["half_width"].apply(lambda h: h.is_monotonic_decreasing).all()
    assert design.groupby("n_seeds")["half_width"].apply(lambda h: h.is_monotonic_decreasing).all()


def test_markdown_opens_with_the_positive_controls_and_has_verdicts_tstr_power_and_the_study(runs):
    metrics, predictions, _ = runs
    table = summary_table(metrics, ARMS, MODELS)
    comparison = _comparison(metrics, predictions)
    text = markdown_report(table, comparison, overfitting_table(metrics, ARMS, MODELS),
                           design_table(comparison, N_TEST), best_seeds(metrics), n_real=N_REAL, ceiling=0.83,
                           notes=["a note"])  # fmt: skip
    assert text.split("\n## ")[1].startswith("Can this design detect a benefit?")
    assert "augmented base (augmented_more_real-r0.5 vs augmented): **yes**" in text
    rows = text.split("## The answers")[1].splitlines()
    assert rows[4].startswith("| positive control |") and rows[6].startswith("| **the study's question** |")
    for needle in ("**helps**", "**hurts**", "What this design can decide", "Youden", "The testing order",
                   "## Sensitivity and specificity of the study's question", "| sensitivity | specificity |",
                   "real + 100 cgan images", "real + 100 augmented copies", "100 further augmented copies",
                   "(TSTR)", "learning curve", "a note", "0.830", "a best-of-trials figure, not an estimate",
                   "0.89", "difference test", "one-sided"):  # fmt: skip
        assert needle in text, needle


def test_one_seed_gets_no_verdict(tmp_path):
    paths = _write_runs(tmp_path, {"baseline": 1.0, "synthetic-cgan-r0.5": 2.5}, seeds=[0])
    metrics = read_run_metrics(paths)
    predictions = read_predictions([p.with_name("predictions.csv") for p in paths])
    row = _comparison(metrics, predictions, ["baseline", "synthetic-cgan-r0.5"]).iloc[0]
    assert np.isnan(row["p_seeds"]) and np.isnan(row["se"]) and row["se_delong"] > 0
    assert row["verdict"] == "n/a" and "one seed" in row["reason"]


def test_a_test_split_with_one_case_of_a_class_is_a_message(runs):
    metrics, predictions, _ = runs
    keep = predictions[("baseline", "simple_cnn", 0)].index[:40]
    one_positive = {key: table.loc[keep].assign(label=[1] + [0] * 39) for key, table in predictions.items()}
    with pytest.raises(DataError, match="split.test_fraction"):
        _comparison(metrics, one_positive)


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


def test_dose_points_start_every_source_at_baseline(runs):
    table = summary_table(runs[0], ARMS, MODELS)
    points = dose_points(table, N_REAL)
    assert set(points["source"]) == {"synthetic (cgan)", "augmented_equal", "more_real"}
    assert points.groupby("source")["extra_images"].apply(list).to_dict()["more_real"] == [0, 100]
    base = table.set_index("arm").loc["baseline", "auc_mean"]
    assert (points.loc[points["extra_images"] == 0, "auc"] == base).all()


def test_figures_are_written(runs, tmp_path):
    metrics, predictions, histories = runs
    table = summary_table(metrics, ARMS, MODELS)
    comparison = _comparison(metrics, predictions)
    figures = {
        "auc_by_arm.png": auc_by_arm_figure(metrics, ARMS, MODELS, ceiling=0.83),
        "forest.png": forest_figure(comparison, MODELS, margin=0.02),
        "dose_response.png": dose_response_figure(table, MODELS, N_REAL, ceiling=0.83),
        "learning_curve.png": learning_curve_figure(table, MODELS, N_REAL, ceiling=0.83),
        "validation_curves.png": validation_curves_figure(histories, ARMS, MODELS),
    }
    for name, figure in figures.items():
        save_figure(figure, tmp_path / name)
        assert (tmp_path / name).stat().st_size > 5000, name


def test_the_dose_sweep_stays_out_of_the_verdict_family():
    arms = [*ARMS, "synthetic-cgan-r1", "augmented_equal-r1", "more_real-r1"]
    everything = {pair[0] for pair in comparison_pairs(arms)}
    main_ratio = {pair[0] for pair in comparison_pairs(arms, 0.5)}
    assert "synthetic-cgan-r1" in everything and "synthetic-cgan-r1" not in main_ratio
    assert [p for p in comparison_pairs(arms, 0.5)] == comparison_pairs(ARMS, 0.5)


def test_the_sensitivity_section_has_the_study_question_of_every_generator():
    """With two generators the study's question is asked twice: each gets its sensitivity/specificity row."""
    from synthaug.summary_markdown import _threshold_section

    comparison = pd.DataFrame({
        "arm": ["augmented_more_real-r0.5", "combined-cgan-r0.5", "combined-cgan_diffaug-r0.5", "augmented"],
        "control": ["augmented", "augmented", "augmented", "baseline"],
        "model": "simple_cnn", "role": ["positive_control", "primary", "primary", "secondary"],
        "sensitivity_difference": [0.01, -0.03, 0.02, 0.0], "sensitivity_sd": 0.05,
        "specificity_difference": [0.0, 0.03, -0.01, 0.0], "specificity_sd": 0.04,
    })  # fmt: skip
    rows = [line for line in _threshold_section(comparison) if line.startswith("| combined-")]
    assert [row.split(" | ")[0] for row in rows] == ["| combined-cgan-r0.5", "| combined-cgan_diffaug-r0.5"]
    assert "+0.020 ± 0.050" in rows[1] and "-0.010 ± 0.040" in rows[1]
    no_primary = comparison[comparison["role"] != "primary"]
    assert sum(line.startswith("| augmented_more_real") for line in _threshold_section(no_primary)) == 1
