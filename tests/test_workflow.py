"""The workflow itself: it lints clean, rejects bad config with a message naming the key, runs end to end on a
tiny config, and reruns only what a change or a named target needs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthaug.constants import CASE_COLUMNS, SPLIT_COLUMNS
from workflow_helpers import TINY, planned_jobs, prepare_workdir, snakemake

pytestmark = pytest.mark.workflow

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
    for arm in ("baseline", "augmented", "synthetic", "combined"):
        run = tiny_run / "results" / "evaluation" / arm / "simple_cnn" / "seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        assert METRICS_KEYS <= set(metrics)
        (tn, fp), (fn, tp) = metrics["confusion_matrix"]
        assert tn + fp + fn + tp == metrics["n_test"]
        assert (run / "confusion_matrix.png").stat().st_size > 0
    table = pd.read_csv(tiny_run / "results" / "summary" / "table.csv")
    assert set(table["arm"]) == {"baseline", "augmented", "synthetic", "combined"}
    assert "baseline" in (tiny_run / "results" / "summary" / "table.md").read_text()
    for generator in ("cgan", "cgan_diffaug", "ddpm"):
        folder = tiny_run / "results" / "synthetic" / generator
        with np.load(folder / "images.npz") as arrays:
            assert arrays["images"].shape == (16, 32, 32, 3) and set(arrays) == {"images", "labels", "case_ids"}
        quality = json.loads((folder / "quality.json").read_text())
        for space in ("random_cnn", "classifier"):
            overall = quality["metrics"][space]["overall"]
            assert {"kid", "precision", "recall", "density", "coverage"} <= set(overall)
            assert all(set(overall[m]) >= {"synthetic", "floor"} for m in ("kid", "precision", "coverage"))
        assert 0.0 <= quality["label_fidelity"]["auc_synthetic"] <= 1.0
        assert quality["memorisation"]["verdict"] and "label_effect" in quality
        assert (folder / "closest_pairs.png").stat().st_size > 0
    comparison = pd.read_csv(tiny_run / "results" / "synthetic" / "comparison.csv")
    assert set(comparison["generator"]) == {"cgan", "cgan_diffaug", "ddpm"}
    assert (tiny_run / "results" / "synthetic" / "comparison.png").stat().st_size > 0


def test_nothing_left_to_do_after_a_run(tiny_run):
    assert planned_jobs(tiny_run) == {}


def test_classifier_change_reruns_training_and_evaluation_only(tiny_run, tmp_path):
    longer = tmp_path / "longer.yaml"
    longer.write_text("classifier:\n  epochs: 3\n")
    jobs = planned_jobs(tiny_run, configfiles=(TINY, longer))
    # The baseline classifier also judges the synthetic images' labels, so their assessment follows it.
    assert set(jobs) == {"train_classifier", "evaluate_classifier", "summarize_results", "assess_synthetic",
                         "compare_generators", "all"}
    assert jobs["train_classifier"] == 4


def test_report_builds(tiny_run):
    snakemake(tiny_run, "--report", "results/report.html")
    assert (tiny_run / "results" / "report.html").stat().st_size > 10_000
