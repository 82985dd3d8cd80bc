"""k classes end to end (issue 28): a 3-class image folder of tiny PNGs (written into the test's tmp_path) through
snakemake with a tiny config, every arm kind and control, with a cgan conditioned on the 3 labels: ingest, a split stratified by the 3 labels with a reserve, augmentation (and the
further copies of augmented_extra and pretrain_augmented), synthetic images per class in the training split's class
frequencies, a softmax classifier per arm and seed (the pretrain arms in two stages), k x k confusion matrices, macro
one-vs-rest AUCs and the verdicts on their differences in the testing order: both positive controls (more_real vs
baseline, augmented_more_real vs augmented), the study's question for each generator, then every secondary question
(the equal-count controls on both bases, augmentation, TSTR, pre-training against its equal-compute control).

One run, two seeds (a verdict needs two), eleven arms: 22 trainings of about 7 CPU s each (6 of them TensorFlow's
start) and 22 evaluations, about 190 CPU s in all; so the run is as small as the assertions allow (16 px images, one
epoch of each stage, the fewest bootstrap resamples, rule all but compare_generators). The folder is read-only input
and comes out byte-identical. An external set of one folder per class is not run here (it was, at 80 more CPU s: four
more arms per seed): its k-class listing and sampling are tests/test_kclass_generators.py's, and an external set runs
through every synthetic arm and control in tests/test_image_folder.py's workflow run; the arms' code is the same for
every generator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures.kclass import CLASSES, write_kclass_folder
from sklearn.metrics import roc_auc_score

from synthaug.constants import ARMS as KINDS
from synthaug.quality import comparison_markdown
from test_data_safety import assert_wrote_only_its_folders, fingerprint, make_read_only
from workflow_helpers import TINY, prepare_workdir, snakemake

NAMES = tuple(sorted(CLASSES))  # no dataset.classes: every class folder is a class, in sorted order
K = len(NAMES)
SIZE = 16  # preprocess.image_size: the smallest the schema allows
SEEDS = (0, 1)
GENERATORS = ("cgan",)
RATIO = 0.5  # classifier.synthetic_ratio: what the synthetic arms and their controls add, per real training image
# Every kind, the default's (config.yaml) and those it leaves out (the pre-training arm and its equal-compute control,
# augmented_equal, synthetic_only).
ARM_KINDS = list(KINDS)
R = f"r{RATIO:g}"
ARMS = ["baseline", "augmented", *(f"synthetic-{g}-{R}" for g in GENERATORS),
        *(f"combined-{g}-{R}" for g in GENERATORS), f"augmented_equal-{R}", f"more_real-{R}", f"augmented_extra-{R}",
        f"augmented_more_real-{R}",
        *(f"synthetic_only-{g}" for g in GENERATORS), *(f"pretrain-{g}-{R}" for g in GENERATORS),
        f"pretrain_augmented-{R}"]  # fmt: skip
# Every question the arms ask, by role, in the testing order: the positive controls, the study's question, the rest.
POSITIVE_CONTROLS = [(f"augmented_more_real-{R}", "augmented"), (f"more_real-{R}", "baseline")]
PRIMARY = [(f"combined-{g}-{R}", "augmented") for g in GENERATORS]
SECONDARY = [
    *((f"combined-{g}-{R}", control) for g in GENERATORS for control in (f"augmented_extra-{R}",
                                                                          f"augmented_more_real-{R}")),
    *((f"synthetic-{g}-{R}", control) for g in GENERATORS for control in ("baseline", f"augmented_equal-{R}",
                                                                           f"more_real-{R}")),
    ("augmented", "baseline"),
    *((f"synthetic_only-{g}", "baseline") for g in GENERATORS),  # TSTR
    *((f"pretrain-{g}-{R}", control) for g in GENERATORS for control in (f"pretrain_augmented-{R}", "augmented")),
    (f"pretrain_augmented-{R}", "augmented"),
]  # fmt: skip
QUESTIONS = {**dict.fromkeys(POSITIVE_CONTROLS, "positive_control"), **dict.fromkeys(PRIMARY, "primary"),
             **dict.fromkeys(SECONDARY, "secondary")}  # fmt: skip
ROLE_ORDER = ("positive_control", "primary", "secondary")
VERDICTS = {"helps", "hurts", "equivalent", "inconclusive", "n/a"}


def test_the_fixture_asks_every_arm_kind_and_every_question():
    assert sorted(ARM_KINDS) == sorted(KINDS) and len(QUESTIONS) == len(POSITIVE_CONTROLS + PRIMARY + SECONDARY)
    assert {arm.split("-")[0] for arm in ARMS} == set(KINDS) and {a for pair in QUESTIONS for a in pair} == set(ARMS)


@pytest.mark.workflow
def test_a_three_class_image_folder_runs_every_arm_end_to_end_with_cgan(tmp_path):
    root = tmp_path / "shapes"
    write_kclass_folder(root, counts=(22, 20, 18), size=SIZE)
    make_read_only(root)
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    overlay = tmp_path / "kclass.yaml"
    overlay.write_text(yaml.safe_dump({
        "dataset": {"name": "image-folder", "root": str(root)},
        "preprocess": {"image_size": SIZE},
        "classifier": {"epochs": 1, "synthetic_ratio": RATIO, "pretrain": {"epochs": 1}},
        "experiment": {"arms": ARM_KINDS, "generators": list(GENERATORS), "seeds": list(SEEDS),
                       "train_fractions": [], "reserve": 0.35, "bootstrap_samples": 100},
        "split": {"val_fraction": 0.2, "test_fraction": 0.3},
    }))  # fmt: skip
    # The answer and every run's confusion matrix: rule all but compare_generators (a Keras start for one table).
    figures = [f"results/evaluation/{arm}/simple_cnn/seed{s}/confusion_matrix.png" for arm in ARMS for s in SEEDS]
    snakemake(workdir, "results/summary/table.md", *figures, configfiles=(TINY, overlay))
    assert fingerprint(root) == before  # read-only input: byte-identical, nothing added
    assert_wrote_only_its_folders(workdir)
    results = workdir / "results"

    split = pd.read_csv(results / "data/split.csv")
    counts = pd.crosstab(split["split"], split["label"])
    assert list(counts.columns) == [0, 1, 2] and (counts >= 2).all().all()  # every split, reserve too, holds each
    assert set(counts.index) == {"train", "val", "test", "reserve"}
    assert "0 = cross, 1 = disc, 2 = square" in (workdir / "logs/split_cases.log").read_text()
    n_test = int(counts.loc["test"].sum())

    # The synthetic images per class follow the training split's class frequencies.
    with np.load(results / "data/train.npz") as arrays:
        train = np.bincount(arrays["labels"], minlength=K)
    wanted = int(train.sum())  # synthesize.n_images: auto, exactly what the arms draw: synthetic_only, n_real
    for generator in GENERATORS:
        with np.load(results / "synthetic" / generator / "i0" / "images.npz") as arrays:
            drawn = np.bincount(arrays["labels"], minlength=K)
            assert arrays["images"].shape == (wanted, SIZE, SIZE, 3)
        assert drawn.sum() == wanted and np.all(np.abs(drawn - wanted * train / train.sum()) < 1), (generator, drawn)
        quality = json.loads((results / "synthetic" / generator / "quality.json").read_text())
        assert quality["classes"] == list(NAMES) and set(quality["label_fidelity"]["mean_p_own_class"]) == set(NAMES)
        assert quality["generator"] == generator and quality["memorisation"]["verdict"]
        assert {"kid", "precision", "recall", "coverage"} <= set(quality["metrics"]["random_cnn"]["overall"])
        assert all((results / "synthetic" / generator / "i0" / f"grid_{n}.png").is_file() for n in NAMES)
    assert (results / "gan/cgan/i0/model.keras").is_file()
    # The generators' comparison (rule compare_generators, not run here: a Keras start for a table), from these reports.
    reports = {g: json.loads((results / "synthetic" / g / "quality.json").read_text()) for g in GENERATORS}
    compared = comparison_markdown(reports)
    assert "the KIDs of the 3 classes" in compared and "malignant" not in compared

    # Each run: a k x k confusion matrix (CSV, figure, metrics.json) of every test case, the macro one-vs-rest AUC
    # of its saved predictions, and the pretrain arms' two stages.
    for arm in ARMS:
        for seed in SEEDS:
            run = results / "evaluation" / arm / "simple_cnn" / f"seed{seed}"
            confusion = pd.read_csv(run / "confusion_matrix.csv")
            counted = confusion[[f"predicted_{n}" for n in NAMES]].to_numpy()
            assert confusion["true_class"].tolist() == list(NAMES) and counted.shape == (K, K)
            predictions = pd.read_csv(run / "predictions.csv")
            p = predictions[[f"probability_{n}" for n in NAMES]].to_numpy()
            np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-4)
            assert len(predictions) == n_test and counted.sum() == n_test, (arm, seed)
            assert counted.sum(axis=1).tolist() == np.bincount(predictions["label"], minlength=K).tolist()
            assert np.array_equal(counted, pd.crosstab(predictions["label"], predictions["prediction"])
                                  .reindex(index=range(K), columns=range(K), fill_value=0).to_numpy())  # fmt: skip
            metrics = json.loads((run / "metrics.json").read_text())
            macro = roc_auc_score(predictions["label"], p, multi_class="ovr", average="macro")
            assert metrics["auc"] == pytest.approx(macro, abs=1e-4), (arm, seed)
            assert metrics["confusion_matrix"] == counted.tolist() and len(metrics["auc_per_class"]) == K
            assert (run / "confusion_matrix.png").is_file() and (run / "roc.png").is_file()
            history = pd.read_csv(results / "classifiers" / arm / "simple_cnn" / f"seed{seed}" / "history.csv")
            stages = ["pretrain", "fine_tune"] if arm.startswith("pretrain") else []
            assert list(dict.fromkeys(history["stage"])) == stages if "stage" in history else not stages, arm

    table = pd.read_csv(results / "summary/metrics.csv", keep_default_na=False)
    macro = ["auc", "balanced_accuracy", *(f"auc_class_{n}" for n in NAMES)]
    assert sorted(table["arm"]) == sorted(a for a in ARMS for _ in SEEDS)
    assert table[macro].apply(lambda c: c.between(0, 1)).all().all()
    assert {f"true_{a}_predicted_{b}" for a in NAMES for b in NAMES} <= set(table.columns)
    assert set(table["generator"]) == {"", *GENERATORS}

    # Every question, once, in the testing order: both positive controls first, then the study's question for each
    # generator, then the rest; each with its verdict on the macro AUC of the two seeds.
    comparison = pd.read_csv(results / "summary/comparison.csv", keep_default_na=False)  # n/a is a verdict
    asked = list(zip(comparison["arm"], comparison["control"]))
    assert sorted(asked) == sorted(QUESTIONS) and dict(zip(asked, comparison["role"])) == QUESTIONS
    assert set(asked[: len(POSITIVE_CONTROLS)]) == set(POSITIVE_CONTROLS)
    assert comparison["role"].map(ROLE_ORDER.index).is_monotonic_increasing
    rows = comparison.set_index(["arm", "control"])
    for arm, control in QUESTIONS:
        row = rows.loc[(arm, control)]
        assert row["verdict"] in VERDICTS and row["n_pairs"] == len(SEEDS), (arm, control, row["verdict"])
        assert 0 <= row["auc_arm"] <= 1 and 0 <= row["auc_control"] <= 1
        assert row["mean_difference"] == pytest.approx(row["auc_arm"] - row["auc_control"])
        assert row["ci95_low"] <= row["mean_difference"] <= row["ci95_high"]
        if row["interval"]:  # tested (not stopped by its gate): the interval that decided it
            assert float(row["ci_low"]) <= row["mean_difference"] <= float(row["ci_high"])
        assert -1 <= row["balanced_accuracy_difference"] <= 1 and row["sensitivity_difference"] == ""  # NaN
    assert sorted(comparison.loc[comparison["role"] == "primary", "generator"]) == sorted(GENERATORS)

    report = (results / "summary/table.md").read_text()
    answers = [line for line in report.splitlines() if line.startswith("| ") and " vs " in line]
    for row in comparison.itertuples(index=False):  # the answers' table: one line per question, with its verdict
        line = next(line for line in answers if f"| {row.arm} vs {row.control} |" in line)
        assert f"| **{row.verdict}**" in line, line
    assert "## Accuracy and balanced accuracy of the study's question" in report
    for generator in GENERATORS:
        assert f"combined-{generator}-{R} vs augmented, sensitivity difference per class" in report
        tstr = next(line for line in report.splitlines() if line.startswith(f"- synthetic_only-{generator} ("))
        assert tstr.endswith(f"**{rows.loc[(f'synthetic_only-{generator}', 'baseline'), 'verdict']}**."), tstr
    assert all(f"| {arm} | " in report for arm in ARMS)  # what each arm trains on, and its test metrics
    assert "two labels" not in report and "malignant" not in report  # k classes, their names
    logged = (workdir / "logs/train_classifier" / f"pretrain-cgan-{R}" / "simple_cnn/seed0.log").read_text()
    assert "malignant" not in logged and f"pretrain-cgan-{R} (pre-training): " in logged and "labels 0-2: " in logged
    for arm in (f"pretrain-cgan-{R}", f"pretrain_augmented-{R}"):  # both stages, epoch by epoch, in order
        logged = (workdir / "logs/train_classifier" / arm / "simple_cnn/seed0.log").read_text()
        lines = ["stage 1 of 2 (pretrain)", "pre-training epoch 1/1", "stage 2 of 2 (fine_tune)",
                 "synthaug: epoch 1/1: loss"]
        assert all(line in logged for line in lines), arm
        assert [logged.index(line) for line in lines] == sorted(logged.index(line) for line in lines), arm
    assert "pre-training on cgan images" in report
