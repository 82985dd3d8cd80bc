"""k-class evaluation, stage 3 of issue 28 item 1: metrics.json with the macro one-vs-rest AUC (the verdict metric),
per-class AUC, accuracy, balanced accuracy, per-class sensitivity and the k x k confusion matrix (CSV and figure),
checked against scikit-learn; the summary's pair comparisons use stats' k-class DeLong path, so macro-AUC
differences get verdicts by the same rules. Two classes keep the binary metrics exactly."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, recall_score, roc_auc_score

from synthaug.evaluation import evaluate_run
from synthaug.metrics import binary_metrics, youden_threshold
from synthaug.plots.evaluation import confusion_matrix_figure, roc_figure
from synthaug.stats import two_source_comparison
from synthaug.summary import (
    COMPARISON_COLUMNS,
    best_seeds,
    compare,
    comparison_pairs,
    design_table,
    overfitting_table,
    read_predictions,
    read_run_metrics,
    summary_table,
)
from synthaug.summary_markdown import markdown_report

NAMES = ("disc", "square", "cross")
K, N_TEST, SEEDS = 3, 240, [0, 1, 2, 3]
VERDICTS = {"helps", "hurts", "equivalent", "inconclusive", "n/a"}


def _probabilities(labels, strength, rng, difficulty):
    """Softmax of scores that favour each case's own class by ``strength`` (shared case difficulty, seed noise)."""
    logits = rng.normal(0, 0.7, (len(labels), K)) + difficulty[:, None] * 0.3
    logits[np.arange(len(labels)), labels] += strength
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _run(labels, strength, seed, difficulty):
    rng = np.random.default_rng(seed)
    test = {"labels": labels, "case_ids": np.array([f"c{i:03d}" for i in range(len(labels))])}
    train = {"labels": np.arange(90) % K}
    return evaluate_run(test, train, _probabilities(labels, strength, rng, difficulty),
                        _probabilities(np.arange(60) % K, strength, rng, np.zeros(60)), np.arange(60) % K,
                        _probabilities(train["labels"], strength + 1, rng, np.zeros(90)),
                        names=NAMES, bootstrap_samples=200, seed=seed)


LABELS = np.random.default_rng(7).permutation(np.arange(N_TEST) % K)


def test_k_class_metrics_match_scikit_learn():
    rng = np.random.default_rng(1)
    p = _probabilities(LABELS, 1.0, rng, np.zeros(N_TEST))
    test = {"labels": LABELS, "case_ids": np.arange(N_TEST).astype(str)}
    metrics, predictions, confusion = evaluate_run(test, {"labels": LABELS}, p, p, LABELS, p, names=NAMES,
                                                   bootstrap_samples=300, seed=0)
    predicted = p.argmax(axis=1)
    assert metrics["auc"] == pytest.approx(roc_auc_score(LABELS, p, multi_class="ovr", average="macro"))
    np.testing.assert_allclose(metrics["auc_per_class"],
                               [roc_auc_score(LABELS == j, p[:, j]) for j in range(K)])
    assert metrics["accuracy"] == pytest.approx(np.mean(predicted == LABELS))
    assert metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(LABELS, predicted))
    np.testing.assert_allclose(metrics["sensitivity_per_class"], recall_score(LABELS, predicted, average=None))
    assert metrics["confusion_matrix"] == confusion_matrix(LABELS, predicted).tolist()
    assert metrics["classes"] == list(NAMES) and metrics["n_test"] == N_TEST
    assert 0 <= metrics["auc_ci_low"] <= metrics["auc"] <= metrics["auc_ci_high"] <= 1
    assert metrics["train_auc"] == pytest.approx(metrics["auc"])
    json.dumps(metrics)  # plain JSON
    assert confusion["true_class"].tolist() == list(NAMES)
    assert confusion[[f"predicted_{n}" for n in NAMES]].to_numpy().tolist() == metrics["confusion_matrix"]
    assert [c for c in predictions if c.startswith("probability_")] == [f"probability_{n}" for n in NAMES]
    assert (predictions["prediction"] == predicted).all()


def test_two_classes_keep_the_binary_metrics():
    rng = np.random.default_rng(2)
    labels = np.arange(100) % 2
    p, p_val = rng.random(100) * 0.6 + 0.4 * labels, rng.random(100) * 0.6 + 0.4 * labels
    test = {"labels": labels, "case_ids": np.arange(100).astype(str)}
    metrics, predictions, confusion = evaluate_run(test, {"labels": labels}, p, p_val, labels, p,
                                                   names=("nevus", "melanoma"), bootstrap_samples=100, seed=0)
    threshold = youden_threshold(labels, p_val)
    assert {k: metrics[k] for k in binary_metrics(labels, p)} == binary_metrics(labels, p, threshold)
    assert metrics["threshold"] == threshold and "classes" not in metrics
    assert list(predictions.columns) == ["case_id", "label", "probability", "prediction"]
    assert confusion["true_class"].tolist() == ["benign", "malignant"]


def test_the_k_class_figures_have_a_row_and_a_curve_per_class():
    matrix = [[5, 1, 0], [0, 6, 1], [2, 0, 4]]
    fig = confusion_matrix_figure(matrix, "t", NAMES)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(NAMES)
    assert len(ax.texts) == 9
    rng = np.random.default_rng(3)
    p = _probabilities(LABELS, 1.0, rng, np.zeros(N_TEST))
    fig = roc_figure(LABELS, p, 0.8, (0.75, 0.85), "t", NAMES)
    assert len(fig.axes[0].get_lines()) == K + 1  # one per class, and chance


# Each arm's strength of the signal for its cases' own class: augmented much stronger than baseline; two generators'
# study questions beside them (one stronger, one weaker than augmented).
STRENGTHS = {"baseline": 0.6, "augmented": 1.8, "combined-cgan-r0.5": 2.4, "combined-painted-r0.5": 1.2}


@pytest.fixture(scope="module")
def kclass_runs(tmp_path_factory):
    """Written as evaluate_classifier writes them: augmented much stronger than baseline, the same test cases."""
    root = tmp_path_factory.mktemp("kruns")
    difficulty = np.random.default_rng(11).normal(0, 1, N_TEST)
    paths = []
    for index, (arm, strength) in enumerate(STRENGTHS.items()):
        for seed in SEEDS:
            run = root / "evaluation" / arm / "simple_cnn" / f"seed{seed}"
            run.mkdir(parents=True)
            metrics, predictions, _ = _run(LABELS, strength, seed + 100 * index, difficulty)
            (run / "metrics.json").write_text(json.dumps(metrics))
            predictions.to_csv(run / "predictions.csv", index=False)
            paths.append(run / "metrics.json")
    return read_run_metrics(paths), read_predictions([p.with_name("predictions.csv") for p in paths])


def test_the_summary_reads_k_class_runs_with_per_class_columns(kclass_runs):
    metrics, predictions = kclass_runs
    assert len(metrics) == len(STRENGTHS) * len(SEEDS)
    assert {"auc", "balanced_accuracy", *(f"auc_class_{n}" for n in NAMES), "true_cross_predicted_disc"} <= set(metrics)
    assert metrics["auc"].between(0, 1).all()
    table = summary_table(metrics, list(STRENGTHS), ["simple_cnn"])
    assert table["balanced_accuracy_mean"].between(0, 1).all() and table["auc_mean"].between(0, 1).all()
    assert predictions[("baseline", "simple_cnn", 0)].filter(like="probability_").shape == (N_TEST, K)


def test_macro_auc_differences_get_verdicts_from_the_k_class_delong_path(kclass_runs):
    metrics, predictions = kclass_runs
    comparison = compare(metrics, predictions, comparison_pairs(["baseline", "augmented"]), ["simple_cnn"])
    row = comparison.set_index(["arm", "control"]).loc[("augmented", "baseline")]
    assert row["verdict"] == "helps" and set(comparison["verdict"]) <= VERDICTS
    scores = {arm: np.array([predictions[(arm, "simple_cnn", s)].filter(like="probability_").to_numpy()
                             for s in SEEDS]) for arm in ("augmented", "baseline")}  # fmt: skip
    aucs = {arm: np.array([roc_auc_score(LABELS, scores[arm][i], multi_class="ovr") for i in range(len(SEEDS))])
            for arm in scores}  # fmt: skip
    expected = two_source_comparison(aucs["augmented"], aucs["baseline"], LABELS, scores["augmented"],
                                     scores["baseline"])
    assert row["mean_difference"] == pytest.approx(np.mean(aucs["augmented"] - aucs["baseline"]))
    assert row["se"] == pytest.approx(expected["se"]) and row["auc_arm"] == pytest.approx(aucs["augmented"].mean())
    assert row["ci_low"] <= row["mean_difference"] <= row["ci_high"]
    assert np.isnan(row["sensitivity_difference"])  # no single positive class


def test_accuracy_balanced_accuracy_and_per_class_sensitivity_differences_are_paired_by_seed(kclass_runs):
    metrics, predictions = kclass_runs
    comparison = compare(metrics, predictions, comparison_pairs(list(STRENGTHS)), ["simple_cnn"])
    per_class = [f"sensitivity_class_{name}_difference" for name in NAMES]  # label order, after the contract's
    assert list(comparison.columns) == [*COMPARISON_COLUMNS, *per_class]
    runs_of = lambda arm: metrics[metrics["arm"] == arm].sort_values("seed")  # noqa: E731
    for row in comparison.itertuples(index=False):
        arm, control = runs_of(row.arm), runs_of(row.control)
        for key in ("accuracy", "balanced_accuracy"):
            expected = arm[key].to_numpy() - control[key].to_numpy()
            assert getattr(row, f"{key}_difference") == pytest.approx(expected.mean())
            assert getattr(row, f"{key}_sd") == pytest.approx(expected.std(ddof=1))
        for name, column in zip(NAMES, per_class):
            expected = arm[f"sensitivity_class_{name}"].to_numpy() - control[f"sensitivity_class_{name}"].to_numpy()
            assert comparison.set_index(["arm", "control"]).at[(row.arm, row.control), column] == pytest.approx(
                expected.mean())
    assert comparison["balanced_accuracy_difference"].abs().gt(0).all()  # the arms differ: not a constant
    assert comparison[["sensitivity_difference", "specificity_difference"]].isna().all().all()


def test_the_k_class_table_md_reports_accuracy_balanced_accuracy_and_per_class_sensitivity(kclass_runs):
    metrics, predictions = kclass_runs
    arms, models = list(STRENGTHS), ["simple_cnn"]
    comparison = compare(metrics, predictions, comparison_pairs(arms), models)
    table = summary_table(metrics, arms, models)
    text = markdown_report(table, comparison, overfitting_table(metrics, arms, models), design_table(comparison, N_TEST),
                           best_seeds(metrics), n_real=90)  # fmt: skip
    assert "Sensitivity and specificity of the study's question" not in text and "Youden" not in text
    section = text.split("## Accuracy and balanced accuracy of the study's question")[1].split("\n## ")[0]
    rows = comparison.set_index(["arm", "control"])
    for generator in ("cgan", "painted"):  # one row and one per-class line for each generator's study question
        row = rows.loc[(f"combined-{generator}-r0.5", "augmented")]
        assert (f"| combined-{generator}-r0.5 | augmented | simple_cnn | {row.accuracy_difference:+.3f} ± "
                f"{row.accuracy_sd:.3f} | {row.balanced_accuracy_difference:+.3f} ± "
                f"{row.balanced_accuracy_sd:.3f} |") in section  # fmt: skip
        cells = ", ".join(f"{n} {row[f'sensitivity_class_{n}_difference']:+.3f}" for n in NAMES)
        assert f"combined-{generator}-r0.5 vs augmented, sensitivity difference per class (mean over seeds): {cells}." \
            in section
    assert "| augmented vs baseline |" not in section  # secondary rows stay in comparison.csv
    header = text.split("## Test metrics, mean ± sd over seeds")[1]
    assert "| macro AUC | balanced accuracy |" in header and "| sensitivity |" not in header
    assert not re.search(r"\bnan\b", text)  # no metric a k-class run lacks


def test_a_k_class_predictions_file_without_probabilities_is_a_message(tmp_path):
    from synthaug.errors import DataError

    run = tmp_path / "evaluation" / "baseline" / "simple_cnn" / "seed0"
    run.mkdir(parents=True)
    pd.DataFrame({"case_id": ["a"], "label": [0], "prediction": [0]}).to_csv(run / "predictions.csv", index=False)
    with pytest.raises(DataError, match="no probability column"):
        read_predictions([run / "predictions.csv"])
