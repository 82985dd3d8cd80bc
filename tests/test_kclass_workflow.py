"""k classes end to end (issue 28): a 3-class image folder of tiny PNGs (32 px, written into the test's tmp_path)
through snakemake with a tiny config, with a cgan conditioned on the 3 labels and an external set of one folder per
class beside it: ingest, a split stratified by the 3 labels with a reserve, augmentation, synthetic images per class
in the training split's class frequencies, a softmax classifier per arm and seed, k x k confusion matrices, macro
one-vs-rest AUCs and the verdicts on their differences in the testing order: the positive control on the study's
base (augmented_more_real vs augmented), the study's question for each generator (combined vs augmented), each
generator against as many real images of new patients (combined vs augmented_more_real).

One run, two seeds, four arms: every Keras job costs about 5 CPU s to start, and a 2-core machine runs two at a time.
The augmented base's positive control stands in for more_real vs baseline, which would add seven jobs (baseline is
only trained once, for the quality assessment). Both folders are read-only input and come out byte-identical."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures.kclass import CLASSES, write_kclass_folder
from sklearn.metrics import roc_auc_score

from test_data_safety import assert_wrote_only_its_folders, fingerprint, make_read_only
from workflow_helpers import TINY, prepare_workdir, snakemake

NAMES = tuple(sorted(CLASSES))  # no dataset.classes: every class folder is a class, in sorted order
K = len(NAMES)
EXTERNAL = "painted"
GENERATORS = ("cgan", EXTERNAL)
RATIO = 0.5  # classifier.synthetic_ratio: what combined and augmented_more_real add, per real training image
ARMS = ["augmented", f"augmented_more_real-r{RATIO}", *(f"combined-{g}-r{RATIO}" for g in GENERATORS)]
VERDICTS = {"helps", "hurts", "equivalent", "inconclusive", "n/a"}


@pytest.mark.workflow
def test_a_three_class_image_folder_runs_end_to_end_with_cgan_and_an_external_set(tmp_path):
    root, external = tmp_path / "shapes", tmp_path / EXTERNAL
    write_kclass_folder(root, counts=(22, 20, 18))
    write_kclass_folder(external, counts=(12, 12, 12), classes=CLASSES, seed=1)  # other draws of the same shapes
    make_read_only(root)
    make_read_only(external)
    before = fingerprint(root), fingerprint(external)
    workdir = prepare_workdir(tmp_path / "work")
    overlay = tmp_path / "kclass.yaml"
    overlay.write_text(yaml.safe_dump({
        "dataset": {"name": "image-folder", "root": str(root)},
        "external": {EXTERNAL: {"root": str(external)}},
        "experiment": {"arms": ["augmented", "augmented_more_real", "combined"], "generators": list(GENERATORS),
                       "seeds": [0, 1], "train_fractions": [], "reserve": 0.35},
        "split": {"val_fraction": 0.2, "test_fraction": 0.3},
    }))  # fmt: skip
    snakemake(workdir, configfiles=(TINY, overlay))
    assert (fingerprint(root), fingerprint(external)) == before  # read-only input: byte-identical, nothing added
    assert_wrote_only_its_folders(workdir)
    results = workdir / "results"

    split = pd.read_csv(results / "data/split.csv")
    counts = pd.crosstab(split["split"], split["label"])
    assert list(counts.columns) == [0, 1, 2] and (counts >= 2).all().all()  # every split, reserve too, holds each
    assert set(counts.index) == {"train", "val", "test", "reserve"}
    assert "0 = cross, 1 = disc, 2 = square" in (workdir / "logs/split_cases.log").read_text()

    # The synthetic images per class follow the training split's class frequencies, for the cgan and the set alike.
    with np.load(results / "data/train.npz") as arrays:
        train = np.bincount(arrays["labels"], minlength=K)
    wanted = int(np.ceil(RATIO * train.sum()))  # synthesize.n_images: auto, exactly what combined draws
    for generator in GENERATORS:
        with np.load(results / "synthetic" / generator / "i0" / "images.npz") as arrays:
            drawn = np.bincount(arrays["labels"], minlength=K)
            assert arrays["images"].shape == (wanted, 32, 32, 3)
        assert drawn.sum() == wanted and np.all(np.abs(drawn - wanted * train / train.sum()) < 1), (generator, drawn)
        quality = json.loads((results / "synthetic" / generator / "quality.json").read_text())
        assert quality["classes"] == list(NAMES) and set(quality["label_fidelity"]["mean_p_own_class"]) == set(NAMES)
        assert all((results / "synthetic" / generator / "i0" / f"grid_{n}.png").is_file() for n in NAMES)
    assert (results / "gan/cgan/i0/model.keras").is_file() and not (results / "gan" / EXTERNAL).exists()

    for arm in ARMS:
        for seed in (0, 1):
            run = results / "evaluation" / arm / "simple_cnn" / f"seed{seed}"
            confusion = pd.read_csv(run / "confusion_matrix.csv")
            counted = confusion[[f"predicted_{n}" for n in NAMES]].to_numpy()
            assert confusion["true_class"].tolist() == list(NAMES) and counted.shape == (K, K)
            predictions = pd.read_csv(run / "predictions.csv")
            p = predictions[[f"probability_{n}" for n in NAMES]].to_numpy()
            np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-4)
            assert counted.sum(axis=1).tolist() == np.bincount(predictions["label"], minlength=K).tolist()
            metrics = json.loads((run / "metrics.json").read_text())
            assert metrics["auc"] == pytest.approx(roc_auc_score(predictions["label"], p, multi_class="ovr"),
                                                   abs=1e-4)
            assert metrics["confusion_matrix"] == counted.tolist() and len(metrics["auc_per_class"]) == K
            assert (run / "confusion_matrix.png").is_file() and (run / "roc.png").is_file()

    table = pd.read_csv(results / "summary/metrics.csv", keep_default_na=False)
    macro = ["auc", "balanced_accuracy", *(f"auc_class_{n}" for n in NAMES)]
    assert set(table["arm"]) == set(ARMS) and table[macro].apply(lambda c: c.between(0, 1)).all().all()
    assert {f"true_{a}_predicted_{b}" for a in NAMES for b in NAMES} <= set(table.columns)
    assert set(table["generator"]) == {"", *GENERATORS}
    comparison = pd.read_csv(results / "summary/comparison.csv", keep_default_na=False)  # n/a is a verdict
    rows = comparison.set_index(["arm", "control"])
    asked = {(f"augmented_more_real-r{RATIO}", "augmented"): "positive_control",
             **{(f"combined-{g}-r{RATIO}", "augmented"): "primary" for g in GENERATORS},
             **{(f"combined-{g}-r{RATIO}", f"augmented_more_real-r{RATIO}"): "secondary" for g in GENERATORS}}
    assert asked.items() <= dict(zip(rows.index, rows["role"])).items()
    assert comparison["role"].iloc[0] == "positive_control"  # the testing order: the gate first
    for arm, control in asked:
        row = rows.loc[(arm, control)]
        assert row["verdict"] in VERDICTS and row["n_pairs"] == 2
        assert 0 <= row["auc_arm"] <= 1 and 0 <= row["auc_control"] <= 1
        assert row["mean_difference"] == pytest.approx(row["auc_arm"] - row["auc_control"])
        assert row["ci95_low"] <= row["mean_difference"] <= row["ci95_high"]
        if row["interval"]:  # tested (not stopped by its gate): the interval that decided it
            assert float(row["ci_low"]) <= row["mean_difference"] <= float(row["ci_high"])
        assert -1 <= row["balanced_accuracy_difference"] <= 1 and row["sensitivity_difference"] == ""  # NaN
    primary = comparison[comparison["role"] == "primary"]
    assert sorted(primary["generator"]) == sorted(GENERATORS)
    report = (results / "summary/table.md").read_text()
    assert "## Accuracy and balanced accuracy of the study's question" in report
    for generator in GENERATORS:
        assert f"combined-{generator}-r{RATIO} vs augmented, sensitivity difference per class" in report
