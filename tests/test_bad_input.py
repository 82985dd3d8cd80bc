"""Bad input, one problem at a time, in both on-disk layouts (TCIA DICOM and Kaggle JPEG).

Each problem either stops with a UserError that names the file at fault and says what to do, or, for a bad row under
``dataset.on_error: skip``, becomes a QC line with its reason while every other row is ingested. Problems of a whole
file (empty CSV, wrong columns) or of the whole dataset (a class left empty) stop in both modes: skipping cannot help.
"""

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from fixtures.cbis import write_cbis
from fixtures.kaggle import write_kaggle

from synthaug.constants import CASE_CSV_FILES
from synthaug.datasets import kaggle, load_cases, tables
from synthaug.errors import UserError
from synthaug.imageio import read_pixels
from synthaug.preprocess import preprocess_files

N_CASES = 18  # rows the fixtures write for 6 patients
ONE_LESION = "Mass-Training_P_00002_LEFT_CC_1"  # its mammogram holds a single abnormality
SKIP_FIX = "dataset.on_error: skip"


def write(tmp_path, name):
    root = tmp_path / name
    files = write_cbis(root, "csv") if name == "cbis-ddsm" else write_kaggle(root)
    return root, files


def config(root, name, on_error="stop", image="crop"):
    return {"name": name, "root": str(root), "abnormality": "mass", "image": image, "on_error": on_error}


def case_csv(root, name, split="train"):
    return (root / "csv" if name == "cbis-ddsm-kaggle" else root) / CASE_CSV_FILES[("mass", split)]


def edit_csv(path, change):
    change(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)


# Row-level damage: each returns (the file a message must name, the QC reason, rows lost).
def corrupt_crop(root, name, files):
    crop = files[ONE_LESION]["crop"]
    crop.write_bytes(b"this is not an image" * 30)
    return crop, tables.UNREADABLE, 1


def truncated_jpeg(root, name, files):
    image = files[ONE_LESION]["image"]
    image.write_bytes(image.read_bytes()[:-200])
    return image, tables.UNREADABLE, 1


def missing_image(root, name, files):
    image = files[ONE_LESION]["image"]
    image.unlink()
    return image, tables.NO_FILE, 1


def unknown_pathology(root, name, files):
    path = case_csv(root, name)
    edit_csv(path, lambda df: df.assign(pathology=df["pathology"].where(df.index != 2, "PROBABLY BENIGN")))
    return path, tables.UNKNOWN_PATHOLOGY, 1


def rgb_dicom(root, name, files):
    crop = files[ONE_LESION]["crop"]
    ds = pydicom.dcmread(crop)
    grey = (ds.pixel_array >> 4).astype(np.uint8)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = np.repeat(grey[..., None], 3, axis=-1).tobytes()
    ds.save_as(crop)
    return crop, tables.UNREADABLE, 1


ROW_PROBLEMS = [
    ("cbis-ddsm", corrupt_crop),
    ("cbis-ddsm-kaggle", corrupt_crop),
    ("cbis-ddsm-kaggle", truncated_jpeg),
    ("cbis-ddsm", missing_image),
    ("cbis-ddsm-kaggle", missing_image),
    ("cbis-ddsm", unknown_pathology),
    ("cbis-ddsm-kaggle", unknown_pathology),
    ("cbis-ddsm", rgb_dicom),
]


@pytest.mark.parametrize("name, damage", ROW_PROBLEMS, ids=[f"{n}-{d.__name__}" for n, d in ROW_PROBLEMS])
def test_bad_row_stops_naming_the_file_or_is_skipped_with_its_reason(tmp_path, name, damage):
    root, files = write(tmp_path, name)
    path, reason, lost = damage(root, name, files)
    with pytest.raises(UserError) as error:
        load_cases(config(root, name))
    message = str(error.value)
    assert str(path) in message and reason in message and SKIP_FIX in message

    cases, qc = load_cases(config(root, name, on_error="skip"))
    dropped = qc[qc["action"] == tables.DROPPED]
    assert dropped["reason"].tolist() == [reason] * lost
    assert len(cases) == N_CASES - lost


# File- and dataset-level damage: a UserError naming the file in both modes.
def empty_csv(root, name, files):
    path = case_csv(root, name, "test")
    path.write_text("")
    return path, "empty"


def other_columns(root, name, files):
    path = case_csv(root, name, "test")
    edit_csv(path, lambda df: df.rename(columns=lambda c: c.replace(" ", "_")))  # e.g. saved by another tool
    return path, "missing column"


def empty_dicom_info(root, name, files):
    path = root / "csv" / kaggle.DICOM_INFO
    path.write_text("")
    return path, "empty"


def no_malignant_left(root, name, files):
    for split in ("train", "test"):
        edit_csv(case_csv(root, name, split), lambda df: df.assign(pathology="BENIGN_WITHOUT_CALLBACK"))
    return root, "no malignant cases"


FILE_PROBLEMS = [
    ("cbis-ddsm", empty_csv),
    ("cbis-ddsm-kaggle", empty_csv),
    ("cbis-ddsm", other_columns),
    ("cbis-ddsm-kaggle", other_columns),
    ("cbis-ddsm-kaggle", empty_dicom_info),
    ("cbis-ddsm", no_malignant_left),
    ("cbis-ddsm-kaggle", no_malignant_left),
]


@pytest.mark.parametrize("on_error", ["stop", "skip"])
@pytest.mark.parametrize("name, damage", FILE_PROBLEMS, ids=[f"{n}-{d.__name__}" for n, d in FILE_PROBLEMS])
def test_bad_file_stops_naming_it_in_both_modes(tmp_path, name, damage, on_error):
    root, files = write(tmp_path, name)
    path, what = damage(root, name, files)
    with pytest.raises(UserError, match=what) as error:
        load_cases(config(root, name, on_error))
    assert str(path) in str(error.value)


# Unexpected bit depth or channel count that has a documented meaning: ingested, then min-max scaled as usual.
def uint32_dicom(root, name, files):
    crop = files[ONE_LESION]["crop"]
    ds = pydicom.dcmread(crop)
    pixels = ds.pixel_array.astype(np.uint32) << 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 32, 32, 31
    ds.PixelData = pixels.tobytes()
    ds.save_as(crop)
    return crop


def rgb_jpeg(root, name, files):
    crop = files[ONE_LESION]["crop"]
    grey = cv2.imread(str(crop), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(crop), cv2.merge([grey, grey // 2, grey]))  # colour, so the grey conversion is exercised
    return crop


@pytest.mark.parametrize("name, damage", [("cbis-ddsm", uint32_dicom), ("cbis-ddsm-kaggle", rgb_jpeg)],
                         ids=["32-bit-dicom", "rgb-jpeg"])
def test_other_bit_depths_and_colour_are_read_as_one_grey_image(tmp_path, name, damage):
    root, files = write(tmp_path, name)
    crop = damage(root, name, files)
    cases, qc = load_cases(config(root, name))
    assert len(cases) == N_CASES and (qc["action"] != tables.DROPPED).all()
    assert cases.set_index("case_id").loc[ONE_LESION, "crop_path"] == crop.as_posix()
    assert read_pixels(crop).ndim == 2
    image = preprocess_files([crop.as_posix()], size=16, blur_kernel=0)[0]
    assert image.max() > 0.6 and image.std() > 0.1  # min-max scaled, whatever the depth


# Image-level problems found only when pixels are decoded: the preprocessing entry point stops naming the file.
def test_full_dicom_with_a_good_header_but_broken_pixels_stops_preprocessing(tmp_path):
    root, files = write(tmp_path, "cbis-ddsm")
    image = files[ONE_LESION]["image"]
    image.write_bytes(image.read_bytes()[:-500])  # header intact, pixel data cut short
    cases, _ = load_cases(config(root, "cbis-ddsm", image="full"))  # ingestion reads full-mammogram headers only
    with pytest.raises(UserError, match="not a readable DICOM image") as error:
        preprocess_files(cases["image_path"].tolist(), size=16, blur_kernel=3, full_image=True)
    assert str(image) in str(error.value)


def test_image_removed_after_ingestion_stops_preprocessing(tmp_path):
    root, files = write(tmp_path, "cbis-ddsm-kaggle")
    cases, _ = load_cases(config(root, "cbis-ddsm-kaggle"))
    files[ONE_LESION]["crop"].unlink()
    with pytest.raises(UserError, match="image file not found") as error:
        preprocess_files(cases["crop_path"].tolist(), size=16, blur_kernel=3)
    assert str(files[ONE_LESION]["crop"]) in str(error.value)
