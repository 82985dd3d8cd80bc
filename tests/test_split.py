"""Train/val/test splits: by patient without leakage, class ratios kept, official test set kept, seeds honoured."""

import logging

import numpy as np
import pandas as pd
import pytest

from synthaug.constants import SPLIT_COLUMNS
from synthaug.errors import ConfigError
from synthaug.split import describe_split, shared_patients, split_cases


def make_cases(n_patients=400, seed=0):
    """Patients with 1-4 images each and a 46% malignant rate; every fifth patient in the official test set."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        malignant = rng.random() < 0.46
        for j in range(rng.integers(1, 5)):
            label = int(malignant if rng.random() < 0.8 else not malignant)
            rows.append((f"P{p:04d}_{j}", f"P_{p:05d}", label, "test" if p % 5 == 0 else "train"))
    return pd.DataFrame(rows, columns=["case_id", "patient_id", "label", "source_split"])


@pytest.mark.parametrize("strategy", ["grouped", "official"])
def test_no_patient_in_two_splits_and_class_ratios_kept(strategy):
    cases = make_cases()
    split = split_cases(cases, strategy, seed=0, val_fraction=0.1, test_fraction=0.2)
    assert list(split.columns) == list(SPLIT_COLUMNS)
    assert split["case_id"].tolist() == cases["case_id"].tolist()
    assert shared_patients(split) == 0
    overall = cases["label"].mean()
    for name, rate in split.groupby("split")["label"].mean().items():
        assert abs(rate - overall) < 0.04, (name, rate, overall)


def test_grouped_fractions_and_seeds():
    cases = make_cases()
    split = split_cases(cases, "grouped", seed=0, val_fraction=0.1, test_fraction=0.2)
    shares = split["split"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.7, abs=0.02)
    assert shares["val"] == pytest.approx(0.1, abs=0.02)
    assert shares["test"] == pytest.approx(0.2, abs=0.02)
    again = split_cases(cases, "grouped", seed=0, val_fraction=0.1, test_fraction=0.2)
    other = split_cases(cases, "grouped", seed=1, val_fraction=0.1, test_fraction=0.2)
    pd.testing.assert_frame_equal(split, again)
    assert (split["split"] != other["split"]).mean() > 0.1


def test_official_keeps_the_source_test_set():
    cases = make_cases()
    split = split_cases(cases, "official", seed=0, val_fraction=0.1, test_fraction=0.2)
    assert ((split["split"] == "test") == (cases["source_split"] == "test")).all()
    train_cases = (cases["source_split"] == "train").sum()
    assert (split["split"] == "val").sum() / train_cases == pytest.approx(0.1, abs=0.02)


def test_random_split_leaks_and_says_so(caplog):
    cases = make_cases()
    with caplog.at_level(logging.WARNING, logger="synthaug"):
        split = split_cases(cases, "random", seed=0, val_fraction=0.1, test_fraction=0.2)
    assert shared_patients(split) > 50
    assert f"{shared_patients(split)} of" in caplog.text and "leaks" in caplog.text
    assert split["split"].value_counts(normalize=True)["test"] == pytest.approx(0.2, abs=0.01)


def test_a_split_without_both_classes_is_a_config_error():
    cases = make_cases(n_patients=6)
    with pytest.raises(ConfigError, match="split.val_fraction"):
        split_cases(cases, "grouped", seed=0, val_fraction=0.01, test_fraction=0.4)


def test_describe_split_counts_cases_and_patients():
    cases = make_cases(n_patients=100)
    table = describe_split(split_cases(cases, "grouped", seed=0, val_fraction=0.1, test_fraction=0.2))
    assert table["cases"].sum() == len(cases)
    assert table.loc["train", "patients"].sum() >= cases["patient_id"].nunique() * 0.6


def test_a_test_split_with_one_case_of_a_class_is_a_config_error():
    """Issue 27: one malignant test case passed the both-classes check, then the AUC's interval failed as a bug."""
    rows = [(f"B{i}", f"PB{i}", 0, "train") for i in range(20)] + [(f"M{i}", f"PM{i}", 1, "train") for i in range(6)]
    rows += [("T0", "PT0", 0, "test"), ("T1", "PT1", 0, "test"), ("T2", "PT2", 1, "test")]  # 1 malignant test case
    cases = pd.DataFrame(rows, columns=["case_id", "patient_id", "label", "source_split"])
    with pytest.raises(ConfigError, match="the test split has 1 malignant case.*fewer than the 2"):
        split_cases(cases, "official", seed=0, val_fraction=0.3, test_fraction=0.2)
