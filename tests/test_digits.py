"""The second embedded domain: scikit-learn's digits exported as an image folder, and read like a user's own."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_digits
from test_data_safety import dry_run_error, fingerprint

from synthaug import preflight
from synthaug.constants import DIGIT_FOLDERS, DIGITS_MARKER
from synthaug.digits import EXPORT_SIZE, export_digits
from synthaug.errors import ConfigError, DataError
from synthaug.split import shared_patients
from workflow_helpers import REPO, TINY, planned_jobs, prepare_workdir, snakemake

PRESET = REPO / "presets" / "digits.yaml"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits") / "resources" / "digits"
    export_digits(root)
    return root


def test_every_digit_is_exported_once_into_its_class_folder(exported):
    digits = load_digits()
    assert sorted(p.name for p in exported.iterdir()) == sorted([*DIGIT_FOLDERS, DIGITS_MARKER])
    files = sorted(exported.glob("digit_*/*.png"))
    assert len(files) == len(digits.target) == 1797
    for digit, folder in enumerate(DIGIT_FOLDERS):
        assert len(list((exported / folder).glob("*.png"))) == int((digits.target == digit).sum())
    marker = json.loads((exported / DIGITS_MARKER).read_text())
    assert marker["written_by"] == "synthaug export_digits" and marker["images"] == 1797


@pytest.mark.parametrize("index", [0, 100, 1796])
def test_an_exported_png_is_its_digit_upsampled(exported, index):
    """8-bit grey at the export size; shrunk back to 8x8 it is the original digit (ink where the 0-16 counts are)."""
    digits = load_digits()
    path = exported / DIGIT_FOLDERS[digits.target[index]] / f"{index:04d}.png"
    png = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and png.shape == (EXPORT_SIZE, EXPORT_SIZE)
    small = cv2.resize(png, (8, 8), interpolation=cv2.INTER_AREA).astype(float)
    original = digits.images[index] * 255 / 16
    assert np.corrcoef(small.ravel(), original.ravel())[0, 1] > 0.9
    assert np.abs(small - original).mean() < 25


def test_a_second_export_replaces_an_earlier_one_with_the_same_images(exported, tmp_path):
    root = tmp_path / "digits"
    export_digits(root)
    (root / DIGIT_FOLDERS[3] / "0003.png").unlink()  # an earlier export, damaged: it is replaced whole
    export_digits(root)
    for path in sorted(exported.glob("digit_*/*.png")):
        twin = root / path.relative_to(exported)
        assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.imread(str(twin), cv2.IMREAD_UNCHANGED))


def test_an_export_never_writes_into_a_folder_it_did_not_create(tmp_path):
    root = tmp_path / "mine"
    (root / "digit_3").mkdir(parents=True)
    (root / "digit_3" / "scan.png").write_bytes(b"mine")
    (root / "notes.txt").write_text("mine")
    before = fingerprint(root)
    with pytest.raises(DataError, match="notes.txt"):
        export_digits(root)
    assert fingerprint(root) == before
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temporary folder left beside it


def dataset(root, **overrides):
    return {"name": "digits", "root": str(root), "classes": None, "image": "crop", **overrides}


def test_the_parse_time_check_gives_the_default_sides_and_stops_on_a_bad_mapping(tmp_path):
    sides = preflight.check_digits(dataset(tmp_path / "new"))
    assert sides == {"negative": list(DIGIT_FOLDERS[:5]), "positive": list(DIGIT_FOLDERS[5:])}
    pair = {"negative": ["digit_3"], "positive": ["digit_8"]}
    assert preflight.check_digits(dataset(tmp_path / "new", classes=pair)) == pair
    with pytest.raises(ConfigError, match=r"dataset\.classes.*'eight', not a class folder"):
        preflight.check_digits(dataset(tmp_path / "new", classes={"negative": ["digit_3"], "positive": ["eight"]}))
    with pytest.raises(ConfigError, match=r"dataset\.image"):
        preflight.check_digits(dataset(tmp_path / "new", image="full"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "scan.dcm").write_bytes(b"x")
    with pytest.raises(ConfigError, match=r"dataset\.root.*scan\.dcm"):
        preflight.check_digits(dataset(tmp_path / "used"))


@pytest.mark.workflow
def test_the_preset_exports_reads_and_splits_the_digits_by_the_default_design(tmp_path):
    """The data stage of presets/digits.yaml as a user runs it: 701 / 377 / 180 / 539 images (train / reserve /
    val / test), no image in two splits, the export untouched by everything after it; the whole design is planned,
    the oracle's arms drawing from the reserve."""
    workdir = prepare_workdir(tmp_path / "work")
    configs = (PRESET, small_images(tmp_path))
    planned = planned_jobs(workdir, configfiles=configs)
    assert planned["export_digits"] == 1 and "simulate_phantom" not in planned
    assert planned["preprocess_reserve"] == 1 and planned["check_reserve_counts"] == 1  # the oracle: the reserve
    assert planned["train_classifier"] == 9 * 5  # the default's nine arm kinds, 5 seeds

    snakemake(workdir, "results/data/split.csv", configfiles=configs)
    root = workdir / "resources" / "digits"
    exported = fingerprint(root)
    snakemake(workdir, "results/data/train.npz", "results/data/summary.png", configfiles=configs)
    assert fingerprint(root) == exported
    split = pd.read_csv(workdir / "results/data/split.csv", dtype=str)
    assert split["split"].value_counts().to_dict() == {"train": 701, "reserve": 377, "test": 539, "val": 180}
    assert shared_patients(split) == 0
    cases = pd.read_csv(workdir / "results/data/cases.csv", dtype=str)
    assert set(cases.loc[cases["label"] == "1", "pathology"]) == set(DIGIT_FOLDERS[5:])
    assert len(pd.read_csv(workdir / "results/data/qc.csv")) == 0  # the marker is no stray file
    with np.load(workdir / "results/data/train.npz") as train:
        assert train["images"].shape == (701, 32, 32, 3) and 0.45 < train["labels"].mean() < 0.55


def small_images(tmp_path: Path) -> Path:
    """32 px images, so preprocessing stays quick; everything else is the preset's."""
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump({"preprocess": {"image_size": 32}}))
    return path


@pytest.mark.workflow
def test_a_digits_root_holding_other_files_stops_a_dry_run_naming_dataset_root(tmp_path):
    root = tmp_path / "digits"
    root.mkdir()
    (root / "thesis.pdf").write_bytes(b"mine")
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    overlay = tmp_path / "root.yaml"
    overlay.write_text(yaml.safe_dump({"dataset": {"name": "digits", "root": str(root)}}))
    out = dry_run_error(workdir, overlay)
    assert "dataset.root" in out and "thesis.pdf" in out
    assert fingerprint(root) == before
