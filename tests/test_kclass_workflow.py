"""k classes end to end, stage 5 of issue 28 item 1: a 3-class image folder of tiny PNGs (32 px, written into the
test's tmp_path) through snakemake with a tiny config: ingest, a split stratified by the 3 labels, augmentation, a
softmax classifier per arm and seed, k x k confusion matrices, macro one-vs-rest AUCs and the verdict on their
difference. (Two arms without a generator keep it near a minute on 2 cores: every Keras job costs seconds to start;
the cgan on k labels is covered by test_kclass_generators.)"""

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
ARMS = ["baseline", "augmented"]
VERDICTS = {"helps", "hurts", "equivalent", "inconclusive", "n/a"}


@pytest.mark.workflow
def test_a_three_class_image_folder_runs_end_to_end(tmp_path):
    root = tmp_path / "shapes"
    write_kclass_folder(root, counts=(22, 20, 18))
    make_read_only(root)
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    overlay = tmp_path / "kclass.yaml"
    overlay.write_text(yaml.safe_dump({
        "dataset": {"name": "image-folder", "root": str(root)},
        "experiment": {"arms": ARMS, "seeds": [0, 1], "train_fractions": [], "reserve": 0},
        "split": {"val_fraction": 0.2, "test_fraction": 0.3},
    }))
    snakemake(workdir, configfiles=(TINY, overlay))
    assert fingerprint(root) == before  # the dataset is read-only input: byte-identical, nothing added
    assert_wrote_only_its_folders(workdir)
    results = workdir / "results"

    split = pd.read_csv(results / "data/split.csv")
    counts = pd.crosstab(split["split"], split["label"])
    assert list(counts.columns) == [0, 1, 2] and (counts >= 2).all().all()  # every split holds every class
    assert "0 = cross, 1 = disc, 2 = square" in (workdir / "logs/split_cases.log").read_text()

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

    table = pd.read_csv(results / "summary/metrics.csv")
    macro = ["auc", "balanced_accuracy", *(f"auc_class_{n}" for n in NAMES)]
    assert set(table["arm"]) == set(ARMS) and table[macro].apply(lambda c: c.between(0, 1)).all().all()
    assert {f"true_{a}_predicted_{b}" for a in NAMES for b in NAMES} <= set(table.columns)
    comparison = pd.read_csv(results / "summary/comparison.csv", keep_default_na=False)  # n/a is a verdict
    row = comparison.set_index(["arm", "control"]).loc[("augmented", "baseline")]
    assert row["verdict"] in VERDICTS and row["n_pairs"] == 2
    assert 0 <= row["auc_arm"] <= 1 and 0 <= row["auc_control"] <= 1
    assert row["mean_difference"] == pytest.approx(row["auc_arm"] - row["auc_control"])
    assert float(row["ci_low"]) <= row["mean_difference"] <= float(row["ci_high"])
