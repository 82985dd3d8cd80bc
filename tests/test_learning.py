"""The classifier learns: a learnable fixture reaches a clearly-above-chance AUC, labels independent of the images
give about 0.5, and the workflow's own baseline learns the phantom. A bug that scrambled labels against images would
put every arm near 0.5 and every verdict at "no difference"; these tests would fail instead.

The bounds come from what the fixtures reach on TensorFlow/CPU (unit: AUC 0.88 for seed 0; independent labels 0.40,
0.46, 0.56 for seeds 0-2; workflow: 0.75 on 122 test cases), with room for seed and backend noise.
"""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from synthaug.metrics import roc_auc  # noqa: E402
from synthaug.train import train_classifier  # noqa: E402
from workflow_helpers import REPO, prepare_workdir, snakemake  # noqa: E402

LEARNABLE = REPO / "tests" / "configs" / "learnable.yaml"


def _shapes(n, seed, contrast=0.3, size=32):
    """Noise images with one shape each: a square (label 1) or a bar of the same area and brightness (label 0),
    anywhere in the image, so only the shape tells the classes apart (no brightness shortcut)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.random((n, size, size, 3)).astype(np.float32) * 0.6
    rows, cols = rng.integers(4, size - 16, n), rng.integers(4, size - 16, n)
    for i, (r, c) in enumerate(zip(rows, cols)):
        height, width = (8, 8) if labels[i] else (4, 16)
        images[i, r : r + height, c : c + width] += contrast
    return images, labels


def _independent_labels(labels, seed):
    """Labels that carry nothing about the images: half of each true class gets 1, at random."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(labels)
    for value in (0, 1):
        chosen = rng.permutation(np.flatnonzero(labels == value))
        out[chosen[: len(chosen) // 2]] = 1
    return out


TRAIN, VAL, TEST = _shapes(192, 0), _shapes(64, 1), _shapes(256, 2)


def _test_auc(train_labels, val_labels, seed, tmp_path):
    model, _ = train_classifier("simple_cnn", (TRAIN[0], train_labels), (VAL[0], val_labels), epochs=6, batch_size=16,
                                learning_rate=1e-3, patience=6, seed=seed, weights=None,
                                checkpoint_dir=tmp_path / f"checkpoint{seed}", threads=1)  # fmt: skip
    return roc_auc(TEST[1], model.predict(TEST[0], verbose=0).ravel())


def test_a_learnable_fixture_is_learned(tmp_path):
    assert _test_auc(TRAIN[1], VAL[1], 0, tmp_path) > 0.75


def test_labels_independent_of_the_images_give_chance(tmp_path):
    train, val = _independent_labels(TRAIN[1], 9), _independent_labels(VAL[1], 8)
    aucs = [_test_auc(train, val, seed, tmp_path) for seed in (0, 1, 2)]
    assert abs(np.mean(aucs) - 0.5) < 0.1, aucs
    assert all(abs(a - 0.5) < 0.2 for a in aucs), aucs


@pytest.mark.workflow
def test_the_workflow_baseline_learns_the_phantom(tmp_path):
    workdir = prepare_workdir(tmp_path)
    target = "results/evaluation/baseline/simple_cnn/seed0/metrics.json"
    snakemake(workdir, target, configfiles=(LEARNABLE,))
    metrics = json.loads((workdir / target).read_text())
    assert metrics["n_test"] > 100
    assert metrics["auc"] > 0.65  # 0.75 measured; chance is 0.5 with a standard error of about 0.05 here
    assert 0 < metrics["threshold"] < 1  # chosen on the validation split
