"""The oracle arm's images: real phantom images of extra patients who are in no split (``more_real``).

Only the phantom can make more real patients. The extra patients are simulated by the phantom's own simulator
with the same settings but a different seed stream and patient numbers above the phantom's range, so they share
no patient (and no random draw) with the train, validation or test splits; their crops are read back by the same
dataset adapter and preprocessed by the same function as the real training images.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .datasets import load_cases
from .errors import DataError
from .preprocess import preprocess_files
from .simulate import simulate_dataset

ORACLE_STREAM = 0x0AC1E  # mixed with phantom.seed: the extra patients' seed stream
MARGIN = 1.3  # simulate this many times the patients the images need on average, plus a few


def oracle_seed(phantom_seed: int) -> int:
    """The simulator seed of the extra patients: derived from ``phantom.seed`` but never equal to it."""
    seed = int(np.random.SeedSequence([phantom_seed, ORACLE_STREAM]).generate_state(1)[0])
    return seed if seed != phantom_seed else seed + 1


def extra_patients_needed(n_images: int, cases: pd.DataFrame) -> int:
    """Patients to simulate for ``n_images`` abnormality images, from the phantom's images per patient."""
    per_patient = len(cases) / max(cases["patient_id"].nunique(), 1)
    return math.ceil(MARGIN * n_images / per_patient) + 4


def simulate_extra_patients(root, phantom: dict, n_images: int, cases: pd.DataFrame, threads: int = 1) -> dict:
    """Simulate enough extra patients for ``n_images`` images into ``root`` (the phantom's layout)."""
    return simulate_dataset(
        root, n_patients=extra_patients_needed(n_images, cases), seed=oracle_seed(phantom["seed"]), threads=threads,
        image_rows=phantom["image_rows"], contrast=phantom["contrast"], first_number=2 * phantom["n_patients"] + 1,
    )  # fmt: skip


def extra_bundle(root, image: str, image_size: int, blur_kernel: int, split: pd.DataFrame, threads: int = 1) -> dict:
    """The extra patients' images as an npz bundle (images, labels, case_ids, patient_ids), preprocessed like
    the training split; stops if any of their patients is in ``split`` (train, val or test)."""
    dataset = {"name": "phantom", "root": str(root), "abnormality": "mass", "image": image, "on_error": "stop"}
    cases, _ = load_cases(dataset, threads=threads)
    shared = sorted(set(cases["patient_id"]) & set(split["patient_id"]))
    if shared:
        raise DataError(root, f"extra patients {shared[:3]} are also in the split; delete the folder and rerun")
    column = "crop_path" if image == "crop" else "image_path"
    images = preprocess_files(cases[column].tolist(), image_size, blur_kernel, threads, full_image=image == "full")
    return {
        "images": images,
        "labels": cases["label"].to_numpy(np.int64),
        "case_ids": cases["case_id"].to_numpy(str),
        "patient_ids": cases["patient_id"].to_numpy(str),
    }
