"""Each arm's training set: the right sources, counts and class mixes; validation and test never enter;
arm names round-trip and the experiment's arm list covers controls, dose sweep and learning curve."""

import numpy as np
import pytest

from synthaug.arms import Arm, assemble_arm, experiment_arms, patient_subset, synthetic_needed
from synthaug.errors import ConfigError, UserError


def _bundle(n, n_malignant, value, size=8):
    labels = np.array([1] * n_malignant + [0] * (n - n_malignant))
    return {"images": np.full((n, size, size, 3), value, np.float32), "labels": labels}


TRAIN = _bundle(100, 40, 0.1)
AUGMENTED = _bundle(200, 80, 0.2)
SYNTHETIC = _bundle(120, 40, 0.3)
EXTRA = _bundle(150, 60, 0.4)
EXPERIMENT = {"arms": ["baseline", "augmented", "synthetic", "combined", "augmented_equal", "more_real",
                       "synthetic_only"], "generators": ["cgan", "ddpm"], "dose_ratios": [0.25, 1.0],
              "train_fractions": [0.5, 1.0]}  # fmt: skip


def _counts(source):
    return {s: int((source == s).sum()) for s in np.unique(source)}


def test_baseline_is_the_real_images_only():
    images, labels, source = assemble_arm("baseline", TRAIN, AUGMENTED, SYNTHETIC)
    assert len(images) == 100 and set(source) == {"real"}
    np.testing.assert_array_equal(labels, TRAIN["labels"])


def test_augmented_adds_every_copy():
    images, labels, source = assemble_arm("augmented", TRAIN, augmented=AUGMENTED)
    assert (source == "augmented").sum() == 200 and len(images) == 300
    assert labels[source == "augmented"].sum() == 80


def test_synthetic_takes_the_ratio_and_keeps_the_class_mix():
    images, labels, source = assemble_arm("synthetic-cgan-r0.5", TRAIN, synthetic=SYNTHETIC, seed=3)
    chosen = source == "synthetic"
    assert chosen.sum() == 50  # round(0.5 * 100 real)
    assert labels[chosen].sum() == round(50 * 40 / 120)  # the synthetic pool's third malignant
    np.testing.assert_allclose(images[chosen], 0.3)
    again = assemble_arm("synthetic-cgan-r0.5", TRAIN, synthetic=SYNTHETIC, seed=3)
    np.testing.assert_array_equal(again[1], labels)


def test_too_few_images_stop_naming_the_key():
    with pytest.raises(UserError, match="synthesize.n_images"):
        assemble_arm("synthetic-cgan-r2", TRAIN, synthetic=SYNTHETIC)
    with pytest.raises(UserError, match="augment.copies"):
        assemble_arm("augmented_equal-r3", TRAIN, augmented=AUGMENTED)


def test_combined_is_real_plus_augmented_plus_synthetic_relative_to_real():
    images, _, source = assemble_arm("combined-cgan-r0.5", TRAIN, AUGMENTED, SYNTHETIC)
    assert _counts(source) == {"real": 100, "augmented": 200, "synthetic": 50}
    assert images.dtype == np.float32 and len(images) == 350


def test_equal_count_control_and_oracle_add_as_many_images_as_the_synthetic_arm():
    synthetic = _counts(assemble_arm("synthetic-cgan-r0.25", TRAIN, synthetic=SYNTHETIC)[2])
    equal = _counts(assemble_arm("augmented_equal-r0.25", TRAIN, augmented=AUGMENTED)[2])
    oracle_images, oracle_labels, oracle = assemble_arm("more_real-r0.25", TRAIN, extra_real=EXTRA)
    assert synthetic["synthetic"] == equal["augmented"] == _counts(oracle)["extra_real"] == 25
    np.testing.assert_allclose(oracle_images[oracle == "extra_real"], 0.4)
    assert oracle_labels[oracle == "extra_real"].sum() == 10  # the extra patients' 40% malignant


def test_synthetic_only_trains_on_as_many_synthetic_images_as_real_ones_and_no_real():
    images, _, source = assemble_arm("synthetic_only-cgan", TRAIN, synthetic=SYNTHETIC)
    assert _counts(source) == {"synthetic": 100}
    np.testing.assert_allclose(images, 0.3)


def test_learning_curve_keeps_whole_patients_nested_and_seed_independent():
    patients = np.repeat([f"P_{i:03d}" for i in range(50)], 2)  # two images per patient
    half = patient_subset(patients, 0.5, seed=7)
    quarter = patient_subset(patients, 0.25, seed=7)
    assert half.sum() == 50 and np.all(half[quarter])  # nested
    assert np.all(half[::2] == half[1::2])  # a patient is in or out with all their images
    images, _, _ = assemble_arm("baseline-f0.5", TRAIN, patient_ids=patients, subset_seed=7, seed=1)
    again, _, _ = assemble_arm("baseline-f0.5", TRAIN, patient_ids=patients, subset_seed=7, seed=2)
    assert len(images) == len(again) == 50
    with pytest.raises(UserError, match="patient ids"):
        assemble_arm("baseline-f0.5", TRAIN)


def test_val_and_test_images_never_enter():
    # Only training bundles can be passed; the assembled images hold only the training sources' pixel values.
    images, _, _ = assemble_arm("combined-cgan-r0.5", TRAIN, AUGMENTED, SYNTHETIC)
    np.testing.assert_allclose(np.unique(images), [0.1, 0.2, 0.3])
    with pytest.raises(TypeError):
        assemble_arm("baseline", TRAIN, val=TRAIN)


def test_missing_inputs_and_bad_shapes_are_clear_errors():
    with pytest.raises(UserError, match="arm 'combined-cgan-r0.5'.*synthetic"):
        assemble_arm("combined-cgan-r0.5", TRAIN, augmented=AUGMENTED)
    with pytest.raises(ConfigError, match="experiment.arms"):
        assemble_arm("gan_only", TRAIN)
    with pytest.raises(UserError, match="preprocess.image_size"):
        assemble_arm("synthetic-cgan-r0.5", TRAIN, synthetic=_bundle(100, 50, 0.3, size=16))


@pytest.mark.parametrize("name", ["synthetic", "synthetic-cgan", "baseline-cgan", "more_real", "augmented-r0.5",
                                  "synthetic_only-cgan-r1", "augmented-f0.5", "baseline-f1.5"])
def test_ill_formed_arm_names_are_rejected(name):
    with pytest.raises(ConfigError):
        Arm.parse(name)


def test_experiment_arms_cover_controls_generators_dose_and_learning_curve():
    arms = experiment_arms(EXPERIMENT, synthetic_ratio=0.5)
    assert arms[:11] == [
        "baseline", "augmented", "synthetic-cgan-r0.5", "synthetic-ddpm-r0.5", "combined-cgan-r0.5",
        "combined-ddpm-r0.5", "augmented_equal-r0.5", "more_real-r0.5", "synthetic_only-cgan", "synthetic_only-ddpm",
        "synthetic-cgan-r0.25",
    ]  # fmt: skip
    assert {"more_real-r1", "augmented_equal-r0.25", "synthetic-ddpm-r1", "baseline-f0.5"} <= set(arms)
    assert "baseline-f1" not in arms and len(arms) == len(set(arms))
    assert all(Arm.parse(a).name == a for a in arms)  # names round-trip
    assert synthetic_needed(EXPERIMENT, 0.5) == 1.0
    assert synthetic_needed({**EXPERIMENT, "arms": ["baseline", "synthetic"], "dose_ratios": []}, 0.5) == 0.5
    assert synthetic_needed({**EXPERIMENT, "arms": ["baseline", "augmented"]}, 0.5) == 0.0


def test_combined_controls_add_as_many_images_on_the_augmented_base():
    # The augmented bundle: 200 copies in the augmented set, 100 further copies (value 0.25) for augmented_extra.
    more = _bundle(100, 40, 0.25)
    bundle = {"images": np.concatenate([AUGMENTED["images"], more["images"]]),
              "labels": np.concatenate([AUGMENTED["labels"], more["labels"]]),
              "base": np.r_[np.ones(200, bool), np.zeros(100, bool)]}  # fmt: skip
    combined = _counts(assemble_arm("combined-cgan-r0.5", TRAIN, bundle, SYNTHETIC)[2])
    extra_images, _, extra = assemble_arm("augmented_extra-r0.5", TRAIN, augmented=bundle)
    oracle = _counts(assemble_arm("augmented_more_real-r0.5", TRAIN, augmented=bundle, extra_real=EXTRA)[2])
    assert combined == {"real": 100, "augmented": 200, "synthetic": 50}
    assert _counts(extra) == {"real": 100, "augmented": 200, "more_augmented": 50}
    np.testing.assert_allclose(extra_images[extra == "more_augmented"], 0.25)  # only the further copies
    assert oracle == {"real": 100, "augmented": 200, "extra_real": 50}
    # augmented and augmented_equal never see the further copies
    images, _, source = assemble_arm("augmented", TRAIN, augmented=bundle)
    assert _counts(source)["augmented"] == 200 and not np.isclose(images, 0.25).all(axis=(1, 2, 3)).any()
    with pytest.raises(UserError, match="further augmented copies"):
        assemble_arm("augmented_extra-r2", TRAIN, augmented=bundle)


def test_combined_controls_are_arms_of_the_default_design():
    arms = experiment_arms({**EXPERIMENT, "arms": [*EXPERIMENT["arms"], "augmented_extra", "augmented_more_real"]},
                           0.5)  # fmt: skip
    assert {"augmented_extra-r0.5", "augmented_more_real-r0.5"} <= set(arms)
    # Every dataset has the oracle arms now: they draw from the reserve (tests/test_oracle.py).
    plain = {**EXPERIMENT, "arms": ["augmented", "augmented_more_real"], "dose_ratios": [], "train_fractions": []}
    assert experiment_arms(plain, 0.5) == ["augmented", "augmented_more_real-r0.5"]
