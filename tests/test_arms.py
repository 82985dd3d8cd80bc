"""Each arm's training set: the right sources, counts and class mixes; validation and test never enter."""

import numpy as np
import pytest

from synthaug.arms import assemble_arm
from synthaug.errors import ConfigError, UserError


def _bundle(n, n_malignant, value, size=8):
    labels = np.array([1] * n_malignant + [0] * (n - n_malignant))
    return {"images": np.full((n, size, size, 3), value, np.float32), "labels": labels}


TRAIN = _bundle(100, 40, 0.1)
AUGMENTED = _bundle(200, 80, 0.2)
SYNTHETIC = _bundle(90, 30, 0.3)


def test_baseline_is_the_real_images_only():
    images, labels, source = assemble_arm("baseline", TRAIN, AUGMENTED, SYNTHETIC)
    assert len(images) == 100 and set(source) == {"real"}
    np.testing.assert_array_equal(labels, TRAIN["labels"])


def test_augmented_adds_every_copy():
    images, labels, source = assemble_arm("augmented", TRAIN, augmented=AUGMENTED)
    assert (source == "augmented").sum() == 200 and len(images) == 300
    assert labels[source == "augmented"].sum() == 80


def test_synthetic_takes_the_ratio_and_keeps_the_class_mix():
    images, labels, source = assemble_arm("synthetic", TRAIN, synthetic=SYNTHETIC, synthetic_ratio=0.5, seed=3)
    chosen = source == "synthetic"
    assert chosen.sum() == 50  # round(0.5 * 100 real)
    assert labels[chosen].sum() == round(50 * 30 / 90)  # the synthetic pool's third malignant
    np.testing.assert_allclose(images[chosen], 0.3)
    again = assemble_arm("synthetic", TRAIN, synthetic=SYNTHETIC, synthetic_ratio=0.5, seed=3)
    np.testing.assert_array_equal(again[1], labels)


def test_synthetic_is_capped_by_what_is_available():
    _, _, source = assemble_arm("synthetic", TRAIN, synthetic=SYNTHETIC, synthetic_ratio=2.0)
    assert (source == "synthetic").sum() == 90


def test_combined_is_real_plus_augmented_plus_synthetic_relative_to_real():
    images, _, source = assemble_arm("combined", TRAIN, AUGMENTED, SYNTHETIC, synthetic_ratio=0.5)
    counts = {s: int((source == s).sum()) for s in ("real", "augmented", "synthetic")}
    assert counts == {"real": 100, "augmented": 200, "synthetic": 50}
    assert images.dtype == np.float32 and len(images) == 350


def test_val_and_test_images_never_enter():
    # Only training bundles can be passed; the assembled images hold only the training sources' pixel values.
    images, _, _ = assemble_arm("combined", TRAIN, AUGMENTED, SYNTHETIC)
    np.testing.assert_allclose(np.unique(images), [0.1, 0.2, 0.3])
    with pytest.raises(TypeError):
        assemble_arm("baseline", TRAIN, val=TRAIN)


def test_missing_inputs_and_bad_shapes_are_clear_errors():
    with pytest.raises(UserError, match="arm 'combined'.*synthetic"):
        assemble_arm("combined", TRAIN, augmented=AUGMENTED)
    with pytest.raises(ConfigError, match="experiment.arms"):
        assemble_arm("gan_only", TRAIN)
    with pytest.raises(UserError, match="preprocess.image_size"):
        assemble_arm("synthetic", TRAIN, synthetic=_bundle(10, 5, 0.3, size=16))
