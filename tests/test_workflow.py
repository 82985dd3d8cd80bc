"""The workflow itself: it lints clean, rejects bad config with a message naming the key, runs end to end on a
tiny config, and reruns only what a change or a named target needs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthaug.constants import CASE_COLUMNS, SPLIT_COLUMNS
from synthaug.split import shared_patients
from workflow_helpers import TINY, planned_jobs, prepare_workdir, snakemake

pytestmark = pytest.mark.workflow

TINY_ARMS = ["baseline", "augmented", "synthetic-cgan-r0.5", "combined-cgan-r0.5", "augmented_equal-r0.5",
             "more_real-r0.5", "augmented_extra-r0.5", "augmented_more_real-r0.5", "synthetic_only-cgan",
             "baseline-f0.5"]  # fmt: skip
METRICS_KEYS = {"accuracy", "auc", "sensitivity", "specificity", "precision", "f1", "train_accuracy", "n_test", "confusion_matrix"}


def test_lint_is_clean(tmp_path):
    proc = snakemake(prepare_workdir(tmp_path), "--lint", configfiles=(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "override, named",
    [
        ("classifer={'epochs': 1}", "classifer"),  # misspelt section
        ("classifier={'epoch': 1}", "epoch"),  # misspelt key
        ("split={'strategy': 'by-image'}", "by-image"),  # value outside the enum
    ],
)
def test_bad_config_is_rejected_naming_the_key(tmp_path, override, named):
    proc = snakemake(prepare_workdir(tmp_path), "--dry-run", "--config", override, check=False)
    assert proc.returncode != 0
    assert named in proc.stdout + proc.stderr


def test_missing_dataset_root_names_the_key(tmp_path):
    proc = snakemake(
        prepare_workdir(tmp_path),
        "--dry-run",
        "--config",
        "dataset={'name': 'cbis-ddsm', 'root': 'no/such/folder'}",
        check=False,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "dataset.root" in out and "no/such/folder" in out


def test_too_few_augmented_copies_for_the_equal_count_control_names_the_key(tmp_path):
    ratio = tmp_path / "ratio.yaml"
    # A reserve large enough for ratio 1.5 (its own check would stop first), too few augmented copies.
    ratio.write_text("classifier:\n  synthetic_ratio: 1.5\nexperiment:\n  reserve: 0.7\n")
    proc = snakemake(prepare_workdir(tmp_path), "--dry-run", configfiles=(TINY, ratio), check=False)
    assert proc.returncode != 0
    assert "augment.copies" in proc.stdout + proc.stderr


def test_phantom_with_calcifications_names_the_key(tmp_path):
    proc = snakemake(prepare_workdir(tmp_path), "--dry-run", "--config", "dataset={'abnormality': 'calc'}", check=False)
    assert proc.returncode != 0
    assert "dataset.abnormality" in proc.stdout + proc.stderr


def test_naming_one_target_plans_only_its_ancestors(tmp_path):
    jobs = planned_jobs(prepare_workdir(tmp_path), "results/evaluation/baseline/simple_cnn/seed0/metrics.json")
    assert jobs == {
        "simulate_phantom": 1,
        "ingest_cases": 1,
        "split_cases": 1,
        "preprocess_images": 1,
        "train_classifier": 1,
        "evaluate_classifier": 1,
    }


def test_tiny_run_produces_the_contract_files(tiny_run):
    data = tiny_run / "results" / "data"
    cases = pd.read_csv(data / "cases.csv")
    assert list(cases.columns[: len(CASE_COLUMNS)]) == list(CASE_COLUMNS)
    split = pd.read_csv(data / "split.csv")
    assert list(split.columns) == list(SPLIT_COLUMNS)
    assert split.groupby("patient_id")["split"].nunique().max() == 1  # no patient in two splits
    for part in ("train", "val", "test"):
        with np.load(data / f"{part}.npz") as arrays:
            assert arrays["images"].shape[1:] == (32, 32, 3)
            assert 0.0 <= arrays["images"].min() and arrays["images"].max() <= 1.0
    runs = sorted((tiny_run / "results" / "evaluation").glob("*/simple_cnn/seed0"))
    assert {r.parts[-3] for r in runs} == set(TINY_ARMS)
    with np.load(data / "test.npz") as test, np.load(data / "val.npz") as val, np.load(data / "train.npz") as train:
        test_cases, n_val, n_train = test["case_ids"], len(val["labels"]), len(train["labels"])
    for run in runs:
        # What the training wrote for its evaluation: the kept model's P(malignant) on the real images of each split.
        classifier = tiny_run / "results" / "classifiers" / Path(*run.parts[-3:])
        with np.load(classifier / "predictions.npz") as predictions:
            assert predictions["case_ids"].tolist() == test_cases.tolist()
            assert [predictions[p].shape for p in ("p_test", "p_val", "p_train")] == [
                (len(test_cases),), (n_val,), (n_train,)]
            assert predictions["p_test"].dtype == np.float32
        metrics = json.loads((run / "metrics.json").read_text())
        assert METRICS_KEYS <= set(metrics)
        (tn, fp), (fn, tp) = metrics["confusion_matrix"]
        assert tn + fp + fn + tp == metrics["n_test"]
        assert (run / "confusion_matrix.png").stat().st_size > 0
    summary = tiny_run / "results" / "summary"
    table = pd.read_csv(summary / "table.csv")
    assert set(table["arm"]) == set(TINY_ARMS)
    metrics = pd.read_csv(summary / "metrics.csv", keep_default_na=False)
    assert {"arm", "generator", "model", "seed", "auc", "accuracy"} <= set(metrics.columns)
    assert set(metrics["generator"]) == {"", "cgan"}
    comparison = pd.read_csv(summary / "comparison.csv", keep_default_na=False)
    assert {"arm", "control", "ci_low", "ci_high", "p_holm", "verdict", "mdd", "p_delong", "p_seeds", "role",
            "assay_sensitive", "gen_coverage", "gen_label_fidelity"} <= set(comparison.columns)  # fmt: skip
    assert set(comparison["verdict"]) == {"n/a"}  # one seed: no training variance, no verdict
    assert comparison["role"].tolist()[:3] == ["positive_control", "positive_control", "primary"]
    assert tuple(comparison.iloc[2][["arm", "control"]]) == ("combined-cgan-r0.5", "augmented")  # the study's question
    pairs = set(zip(comparison["arm"], comparison["control"]))
    assert {("combined-cgan-r0.5", "augmented_extra-r0.5"), ("combined-cgan-r0.5", "augmented_more_real-r0.5"),
            ("synthetic-cgan-r0.5", "augmented_equal-r0.5"), ("synthetic-cgan-r0.5", "more_real-r0.5")} <= pairs
    assert "baseline-f0.5" not in set(comparison["arm"])  # the learning curve is not a treatment
    text = (summary / "table.md").read_text()
    assert "What this design can decide" in text and "(TSTR)" in text and "augmented_extra-r0.5" in text
    for figure in ("forest.png", "dose_response.png", "learning_curve.png", "validation_curves.png"):
        assert (summary / figure).stat().st_size > 5000, figure

    for generator in ("cgan",):
        folder = tiny_run / "results" / "synthetic" / generator
        with np.load(folder / "i0" / "images.npz") as arrays:
            assert arrays["images"].shape[1:] == (32, 32, 3) and set(arrays) == {"images", "labels", "case_ids"}
        quality = json.loads((folder / "quality.json").read_text())
        for space in ("random_cnn", "classifier"):
            overall = quality["metrics"][space]["overall"]
            assert {"kid", "precision", "recall", "density", "coverage"} <= set(overall)
            assert all(set(overall[m]) >= {"synthetic", "floor"} for m in ("kid", "precision", "coverage"))
        # Label fidelity recomputed here, with sklearn, from the assessing classifier (the baseline of seed 0): its
        # AUC on the synthetic images by their labels, and on the real test split as evaluate_classifier found it.
        # A range check alone would pass labels shuffled, another classifier, or an AUC computed on the wrong side.
        import keras
        from sklearn.metrics import roc_auc_score

        fidelity = quality["label_fidelity"]
        run = tiny_run / "results" / "classifiers" / "baseline" / "simple_cnn" / "seed0"
        classifier = keras.models.load_model(run / "model.keras", compile=False)
        with np.load(folder / "i0" / "images.npz") as arrays:
            p_synthetic = classifier.predict(arrays["images"], verbose=0).ravel()
            expected = roc_auc_score(arrays["labels"], p_synthetic)
        assert fidelity["auc_synthetic"] == pytest.approx(expected, abs=1e-3)
        baseline = json.loads((tiny_run / "results" / "evaluation" / "baseline" / "simple_cnn" / "seed0"
                               / "metrics.json").read_text())
        assert fidelity["auc_real_test"] == pytest.approx(baseline["auc"], abs=1e-3)
        assert fidelity["label_effect"] == pytest.approx(
            (fidelity["auc_synthetic"] - 0.5) / (fidelity["auc_real_test"] - 0.5), rel=1e-6)
        assert quality["memorisation"]["verdict"] and "label_effect" in quality
        assert (folder / "closest_pairs.png").stat().st_size > 0
    comparison = pd.read_csv(tiny_run / "results" / "synthetic" / "comparison.csv")
    assert set(comparison["generator"]) == {"cgan"}
    assert (tiny_run / "results" / "synthetic" / "comparison.png").stat().st_size > 0

def test_the_augmented_set_is_the_same_with_or_without_the_further_copies(tiny_run):
    with np.load(tiny_run / "results" / "augmented" / "train.npz") as augmented, \
            np.load(tiny_run / "results" / "data" / "train.npz") as train:
        base = augmented["base"]
        assert base.sum() == len(train["labels"])  # augment.copies: 1 per real image in the augmented set
        assert (~base).sum() == len(train["labels"])  # ceil(0.5) further copy per image for augmented_extra-r0.5
        assert not np.array_equal(augmented["images"][base], augmented["images"][~base])  # new draws, not repeats


def test_the_oracle_draws_from_the_reserve_which_no_split_shares_and_is_preprocessed_like_the_training_images(
        tiny_run):
    data, oracle = tiny_run / "results" / "data", tiny_run / "results" / "oracle"
    split = pd.read_csv(data / "split.csv", dtype=str)
    held = split.loc[split["split"] == "reserve"]
    assert shared_patients(split) == 0 and len(held)  # whole patients, in the reserve only
    with np.load(oracle / "train.npz") as extra, np.load(data / "train.npz") as train:
        assert extra["case_ids"].tolist() == held["case_id"].tolist()
        assert not set(extra["case_ids"]) & set(train["case_ids"])
        assert extra["images"].shape[1:] == train["images"].shape[1:] and extra["images"].dtype == np.float32
        assert 0.0 <= extra["images"].min() and extra["images"].max() <= 1.0
        n_real = len(train["labels"])
        assert len(extra["labels"]) >= round(0.5 * n_real)  # enough for more_real-r0.5
    counts = json.loads((oracle / "counts.json").read_text())
    assert counts["reserve_images"] == len(held) and counts["largest_arm"] == "more_real-r0.5"


def test_nothing_left_to_do_after_a_run(tiny_run):
    assert planned_jobs(tiny_run) == {}


def test_classifier_change_reruns_training_and_evaluation_only(tiny_run, tmp_path):
    longer = tmp_path / "longer.yaml"
    longer.write_text("classifier:\n  epochs: 3\n")
    jobs = planned_jobs(tiny_run, configfiles=(TINY, longer))
    # The baseline classifier also judges the synthetic images' labels, so their assessment follows it.
    assert set(jobs) == {"train_classifier", "evaluate_classifier", "summarize_results", "assess_synthetic",
                         "compare_generators", "all"}
    assert jobs["train_classifier"] == len(TINY_ARMS)


def test_report_builds(tiny_run):
    # --nolock: the tiny run is shared; a lock left in it while the other worker copies it would stop that copy's run.
    snakemake(tiny_run, "--report", "results/report.html", "--nolock")
    assert (tiny_run / "results" / "report.html").stat().st_size > 10_000

