"""The Table I layout: means over seeds per row, the best seed labelled as such, rows not run, a second split, the
CGAN rows at classifier.synthetic_ratio, and a k-class run's figures in the same layout, marked as not comparable
with the study's two-class ones."""

import importlib.util
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd

from synthaug.evaluation import evaluate_run
from synthaug.io import read_csv
from synthaug.paper_table import ROWS, markdown_table, paper_table
from synthaug.summary import kclass_names, read_run_metrics
from workflow_helpers import REPO

CGAN = "synthetic-cgan-r0.5"  # the arm's name in results: real + cgan images at the study's ratio


def _metrics(offset=0.0):
    rows = []
    for arm, model in [("baseline", "simple_cnn"), ("baseline", "inception_resnet_v2"),
                       (CGAN, "inception_resnet_v2")]:
        for seed, auc in enumerate([0.6, 0.7, 0.8]):
            rows.append({"arm": arm, "model": model, "seed": seed, "train_accuracy": 0.9,
                         "accuracy": auc - 0.05 + offset, "auc": auc + offset})
    return pd.DataFrame(rows)


def test_rows_follow_table_i_with_means_best_seed_and_gaps():
    table = paper_table(_metrics())
    assert table["row"].tolist() == [r[0] for r in ROWS]
    by_model = table.set_index("row")
    assert by_model.loc["Simple CNN", "auc"] == np.mean([0.6, 0.7, 0.8])
    assert np.isclose(by_model.loc["Simple CNN", "auc_sd"], 0.1)
    best = table.iloc[-1]
    assert "best trial" in best["row"] and best["seed"] == 2 and best["auc"] == 0.8 and best["arm"] == CGAN
    assert by_model.loc["Simple CNN (Optuna)", "n_seeds"] == 0
    assert list(table["study_auc"]) == [0.49, 0.50, 0.52, 0.75, 0.76, 0.89]
    text = markdown_table(table, "grouped")
    assert "not run" in text and "seed 2" in text and "0.700 ± 0.100" in text
    assert "| AUC (grouped split) |" in text and "classes" not in text


def test_the_cgan_rows_take_the_synthetic_arm_at_the_configured_ratio():
    """A dose sweep runs synthetic-cgan at several ratios: Table I's row is the one at classifier.synthetic_ratio."""
    sweep = _metrics()
    sweep = pd.concat([sweep, sweep[sweep["arm"] == CGAN].assign(arm="synthetic-cgan-r1", auc=0.95)])
    at_half = paper_table(sweep).set_index("row")
    assert at_half.loc["InceptionResNetV2 + CGAN (mean over seeds)", "auc"] == np.mean([0.6, 0.7, 0.8])
    at_one = paper_table(sweep, synthetic_ratio=1.0).iloc[-2]
    assert at_one["arm"] == "synthetic-cgan-r1" and np.isclose(at_one["auc"], 0.95)
    assert paper_table(sweep, synthetic_ratio=0.25).iloc[-1]["n_seeds"] == 0  # not run at that ratio


def test_other_split_sits_beside_and_vgg16_from_scratch_is_named():
    table = paper_table(_metrics(), _metrics(offset=0.1), vgg16_pretrained=False)
    assert np.isclose(table.loc[0, "other_auc"], 0.8)
    assert "from scratch" in table.loc[2, "row"]
    text = markdown_table(table, "grouped", "random")
    assert "AUC (random split)" in text and "AUC (grouped split)" in text


NAMES = ("nevus", "keratosis", "melanoma")


def _kclass_metrics_csv(tmp_path):
    """metrics.csv as summarize_results writes it from k-class runs' metrics.json (evaluate_run's own)."""
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 3
    paths = []
    for arm, model, strength in [("baseline", "simple_cnn", 0.5), ("baseline", "inception_resnet_v2", 1.0),
                                 (CGAN, "inception_resnet_v2", 1.5)]:  # fmt: skip
        for seed in range(3):
            logits = rng.normal(0, 1, (60, 3)) + strength * np.eye(3)[labels]
            p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            test = {"labels": labels, "case_ids": np.arange(60).astype(str)}
            metrics, _, _ = evaluate_run(test, {"labels": labels}, p, p, labels, p, names=NAMES, bootstrap_samples=20,
                                         seed=seed)  # fmt: skip
            path = tmp_path / "evaluation" / arm / model / f"seed{seed}" / "metrics.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(metrics))
            paths.append(path)
    read_run_metrics(paths).to_csv(tmp_path / "metrics.csv", index=False)
    return tmp_path / "metrics.csv"


def test_a_k_class_run_fills_the_layout_and_says_the_study_is_not_comparable(tmp_path):
    metrics = read_csv(_kclass_metrics_csv(tmp_path))
    assert "sensitivity" not in metrics and kclass_names(metrics.columns) == list(NAMES)
    table = paper_table(metrics).set_index("row")
    for row, arm, model in [("Simple CNN", "baseline", "simple_cnn"),
                            ("InceptionResNetV2 + CGAN (mean over seeds)", CGAN, "inception_resnet_v2")]:
        runs = metrics[(metrics["arm"] == arm) & (metrics["model"] == model)]
        assert table.loc[row, "n_seeds"] == 3 and np.isclose(table.loc[row, "auc"], runs["auc"].mean())
        assert np.isclose(table.loc[row, "accuracy"], runs["accuracy"].mean())
    text = markdown_table(table.reset_index(), "grouped", classes=NAMES)
    assert "| macro AUC (grouped split) |" in text and "| AUC (grouped split) |" not in text
    assert "This run has 3 classes** (nevus, keratosis, melanoma)" in text and "not comparable" in text


def test_tabulate_paper_passes_the_ratio_and_the_classes(tmp_path):
    """The rule's script, called as Snakemake calls it: the CGAN row found at the ratio, the k classes named."""
    spec = importlib.util.spec_from_file_location("tabulate_paper", REPO / "workflow/scripts/tabulate_paper.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    outputs = {"table": str(tmp_path / "out/paper_table.csv"), "markdown": str(tmp_path / "out/paper_table.md")}
    smk = SimpleNamespace(input=SimpleNamespace(metrics=str(_kclass_metrics_csv(tmp_path)), keys=lambda: ["metrics"]),
                          output=SimpleNamespace(**outputs),
                          params=SimpleNamespace(vgg16_pretrained=False, split="grouped", other_split="other run's",
                                                 synthetic_ratio=0.5))  # fmt: skip
    script.main(smk)
    assert pd.read_csv(outputs["table"])["n_seeds"].tolist() == [3, 0, 0, 3, 3, 3]
    assert "This run has 3 classes" in (tmp_path / "out/paper_table.md").read_text()
