"""Synthesis: the configured count and class mix in [0, 1], and quality checks that catch collapse and copying."""

from functools import partial

import numpy as np
import pytest

from synthaug.errors import ConfigError, DataError
from synthaug.synthesize import check_compatible, class_counts, quality_checks, synthesize


def _real(n=40, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size, 3)).astype(np.float32), np.arange(n) % 2


def test_synthesize_writes_count_and_class_mix_in_range():
    keras = pytest.importorskip("keras")
    from synthaug.generators.cgan import sample_from
    from synthaug.models.cgan import build_generator

    keras.utils.set_random_seed(0)
    sample = partial(sample_from, build_generator(32, 8))
    train_labels = np.array([1] * 3 + [0] * 7)  # 30% malignant
    out = synthesize(sample, 25, "train", train_labels, seed=0, prefix="cgan")
    assert out["images"].shape == (25, 32, 32, 3) and out["images"].dtype == np.float32
    assert 0.0 <= out["images"].min() and out["images"].max() <= 1.0
    assert int(out["labels"].sum()) == 8  # round(25 * 0.3)
    assert out["labels"].dtype == np.int64
    assert out["case_ids"][0] == "cgan-00001" and len(set(out["case_ids"])) == 25
    again = synthesize(sample, 25, 0.5, train_labels, seed=0, prefix="cgan")
    assert int(again["labels"].sum()) == round(25 * 0.5)


def test_each_synthetic_image_is_the_one_sampled_for_its_label_with_the_given_seed():
    """Class conditioning reaches the bundle: the i-th image is the sampler's image for the i-th label (a set whose
    labels were shuffled, or drawn for other labels, would fail), and the seed reaches the sampler."""
    calls = []

    def sample(labels, seed):
        calls.append((labels.copy(), seed))
        rng = np.random.default_rng(seed)
        level = np.where(labels == 1, 0.75, 0.25)[:, None, None, None]  # the label is in the picture
        return (level + 0.01 * rng.standard_normal((len(labels), 8, 8, 3))).astype(np.float32)

    out = synthesize(sample, 20, 0.3, np.array([0, 1]), seed=7, prefix="fake")
    (asked, seed), = calls
    assert seed == 7 and np.array_equal(asked, out["labels"])
    assert list(out["labels"]) == [0] * 14 + [1] * 6  # benign first, then malignant
    means = out["images"].mean(axis=(1, 2, 3))
    np.testing.assert_allclose(means, np.where(out["labels"] == 1, 0.75, 0.25), atol=0.01)
    again = synthesize(sample, 20, 0.3, np.array([0, 1]), seed=7, prefix="fake")
    np.testing.assert_array_equal(again["images"], out["images"])
    assert not np.array_equal(synthesize(sample, 20, 0.3, np.array([0, 1]), seed=8, prefix="fake")["images"],
                              out["images"])


def test_the_cgan_sampler_conditions_on_the_label():
    """The same noise with label 0 and label 1 gives other images: the label reaches the generator."""
    keras = pytest.importorskip("keras")
    from synthaug.generators.cgan import sample_from
    from synthaug.models.cgan import build_generator

    keras.utils.set_random_seed(0)
    generator = build_generator(32, 8)
    zeros, ones = sample_from(generator, np.zeros(4, int), seed=3), sample_from(generator, np.ones(4, int), seed=3)
    np.testing.assert_array_equal(zeros, sample_from(generator, np.zeros(4, int), seed=3))  # deterministic
    assert np.abs(zeros - ones).max() > 1e-5  # an untrained generator: small, but a label ignored gives 0


def test_class_counts():
    assert class_counts(550, "train", np.array([0, 1, 1, 0])) == {0: 275, 1: 275}
    assert class_counts(10, 0.0, np.array([1])) == {0: 10, 1: 0}
    assert class_counts(10, 1, np.array([0])) == {0: 0, 1: 10}
    with pytest.raises(ConfigError, match="synthesize.malignant_fraction"):
        class_counts(10, "half", np.array([0]))


def test_shape_mismatch_names_the_file():
    with pytest.raises(DataError, match="model.keras"):
        check_compatible(np.zeros((2, 32, 32, 3)), np.zeros((2, 64, 64, 3)), "model.keras")


def test_fresh_samples_of_the_same_distribution_raise_no_flag():
    real, labels = _real()
    other, other_labels = _real(seed=1)
    report = quality_checks({"images": other, "labels": other_labels}, real, labels)
    for q in report.values():
        assert 0.8 < q["diversity"]["ratio"] < 1.2
        assert not q["collapse_suspected"] and not q["memorisation_suspected"]
        assert q["nearest_real_distance"]["near_copy_fraction"] == 0.0


def test_copies_of_training_images_are_flagged_as_memorised():
    real, labels = _real()
    report = quality_checks({"images": real.copy(), "labels": labels}, real, labels)
    for q in report.values():
        assert q["memorisation_suspected"]
        assert q["nearest_real_distance"]["fraction_closer_than_real_median"] == 1.0
        assert q["nearest_real_distance"]["synthetic_min"] < 1e-3


def test_constant_images_are_flagged_as_collapsed():
    real, labels = _real()
    constant = np.full((20, 16, 16, 3), 0.5, np.float32)
    report = quality_checks({"images": constant, "labels": np.arange(20) % 2}, real, labels)
    assert set(report) == {"benign", "malignant"}
    for q in report.values():
        assert q["diversity"]["ratio"] < 0.01 and q["collapse_suspected"]
        assert q["intensity_std"]["synthetic"] < 1e-6 < q["intensity_std"]["real"]


def test_large_images_are_compared_at_reduced_size():
    real, labels = _real(n=6, size=128)
    report = quality_checks({"images": real.copy(), "labels": labels}, real, labels)
    assert report["benign"]["memorisation_suspected"]
