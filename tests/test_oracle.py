"""The oracle's extra patients: a separate seed stream, patient ids above the phantom's, read and preprocessed by
the same code as the phantom, and refused if a patient is in the split."""

import numpy as np
import pandas as pd
import pytest

from synthaug.datasets import load_cases
from synthaug.errors import DataError
from synthaug.oracle import extra_bundle, extra_patients_needed, oracle_seed, simulate_extra_patients
from synthaug.preprocess import preprocess_files

PHANTOM = {"n_patients": 6, "seed": 0, "image_rows": 96, "contrast": [3.0, 6.0]}


@pytest.fixture(scope="module")
def oracle_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle") / "phantom"
    cases = pd.DataFrame({"patient_id": ["P_1", "P_1", "P_2"]})  # 1.5 images per patient
    simulate_extra_patients(root, PHANTOM, n_images=3, cases=cases)
    return root


def test_seed_stream_differs_and_patient_count_has_a_margin():
    assert oracle_seed(0) != 0 and oracle_seed(0) == oracle_seed(0) and oracle_seed(0) != oracle_seed(1)
    cases = pd.DataFrame({"patient_id": ["a", "a", "b", "b"]})  # 2 images per patient
    assert extra_patients_needed(100, cases) == 65 + 4


def test_extra_patients_are_numbered_above_the_phantom_and_preprocessed_like_it(oracle_root):
    split = pd.DataFrame({"patient_id": [f"P_{n:05d}" for n in range(1, 13)]})  # the phantom's whole range
    bundle = extra_bundle(oracle_root, "crop", 32, 5, split)
    numbers = [int(p[2:]) for p in bundle["patient_ids"]]
    assert min(numbers) > 2 * PHANTOM["n_patients"]
    cases, _ = load_cases({"name": "phantom", "root": str(oracle_root), "abnormality": "mass", "image": "crop",
                           "on_error": "stop"})  # fmt: skip
    np.testing.assert_array_equal(bundle["images"], preprocess_files(cases["crop_path"].tolist(), 32, 5))
    assert set(bundle["labels"]) <= {0, 1} and len(bundle["labels"]) == len(cases)


def test_a_patient_in_the_split_is_refused(oracle_root):
    cases, _ = load_cases({"name": "phantom", "root": str(oracle_root), "abnormality": "mass", "image": "crop",
                           "on_error": "stop"})  # fmt: skip
    split = pd.DataFrame({"patient_id": [cases["patient_id"].iloc[0]]})
    with pytest.raises(DataError, match="also in the split"):
        extra_bundle(oracle_root, "crop", 32, 5, split)
