"""The embedded phantom: NBIA layout, CBIS-DDSM CSVs, DICOM headers, label model and background statistics."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pydicom
import pytest

from synthaug.dicom_writer import MASK_VALUE
from synthaug.errors import DataError
from synthaug.phantom import lesion as lesion_model
from synthaug.phantom import mammogram as mammogram_model
from synthaug.phantom.anatomy import power_law_noise, radial_power_slope
from synthaug.constants import (
    GROUND_TRUTH_FILE,
    MASS_CSV_COLUMNS,
    METADATA_FILE,
    PATHOLOGIES,
    PHANTOM_MARKER,
    SERIES_CROP,
    SERIES_FULL,
    SERIES_MASK,
)
from synthaug.simulate import simulate_dataset

CSVS = ("mass_case_description_train_set.csv", "mass_case_description_test_set.csv")


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    root = tmp_path_factory.mktemp("phantom") / "data"
    summary = simulate_dataset(root, n_patients=12, seed=3, threads=2, image_rows=96)
    return root, summary


def _cases(root) -> pd.DataFrame:
    return pd.concat([pd.read_csv(root / name) for name in CSVS], ignore_index=True)


def _headers(root) -> dict:
    """SOP files by (subject, SeriesInstanceUID, file index in the CSV form = InstanceNumber - 1)."""
    found = {}
    for path in (root / "CBIS-DDSM").glob("*/*/*/*.dcm"):
        ds = pydicom.dcmread(path)
        found[(ds.PatientID, ds.SeriesInstanceUID, int(ds.InstanceNumber) - 1)] = (path, ds)
    return found


def test_nbia_layout_and_tables(phantom):
    root, summary = phantom
    for name in (*CSVS, METADATA_FILE, GROUND_TRUTH_FILE):
        assert (root / name).is_file()
    assert not list(root.parent.glob(".data.*")), "temporary folder left behind"
    fulls = list((root / "CBIS-DDSM").glob(f"Mass-*_P_*_*_*/*-DDSM-*/1.000000-{SERIES_FULL}-*/1-1.dcm"))
    assert len(fulls) >= 12
    metadata = pd.read_csv(root / METADATA_FILE)
    assert {"Series UID", "Subject ID", "Study UID", "Series Description", "Number of Images", "File Location"} <= set(
        metadata.columns
    )
    assert metadata["Number of Images"].sum() == len(list((root / "CBIS-DDSM").rglob("*.dcm")))
    for location in metadata["File Location"]:
        assert (root / location).is_dir()
    cases = _cases(root)
    assert len(cases) == summary["abnormality_images"] == len(pd.read_csv(root / GROUND_TRUTH_FILE))
    for name in CSVS:
        assert tuple(pd.read_csv(root / name).columns) == MASS_CSV_COLUMNS
    assert set(cases["pathology"]) <= set(PATHOLOGIES)
    assert cases["breast_density"].between(1, 4).all() and cases["subtlety"].between(1, 5).all()
    assert cases["image file path"].str.match(r"^Mass-(Training|Test)_P_\d{5}_(LEFT|RIGHT)_(CC|MLO)/[\d.]+/[\d.]+/000000\.dcm$").all()
    assert cases["cropped image file path"].str.match(r"^Mass-(Training|Test)_P_\d{5}_(LEFT|RIGHT)_(CC|MLO)_\d/").all()
    truth = pd.read_csv(root / GROUND_TRUTH_FILE)
    # A lesion seen in both views is one lesion_id with two abnormality images.
    assert (truth.groupby("lesion_id")["view"].nunique() <= 2).all()
    assert truth["case_id"].is_unique and truth["p_malignant"].between(0, 1).all()


def test_csv_paths_match_dicom_headers(phantom):
    root, _ = phantom
    headers = _headers(root)
    shared_series_orders = set()
    for _, row in _cases(root).iterrows():
        images = {}
        for column in ("image file path", "cropped image file path", "ROI mask file path"):
            subject, study_uid, series_uid, name = row[column].split("/")
            path, ds = headers[(subject, series_uid, int(name.removesuffix(".dcm")))]
            assert ds.StudyInstanceUID == study_uid and ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
            assert ds.Modality == "MG" and ds.PhotometricInterpretation == "MONOCHROME2" and ds.PixelRepresentation == 0
            assert ds.Laterality == row["left or right breast"][0] and ds.ViewPosition == row["image view"]
            assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ImplicitVRLittleEndian
            images[column] = ds
        full, crop, mask = images.values()
        assert full.SeriesDescription == SERIES_FULL and crop.SeriesDescription in (SERIES_CROP, SERIES_MASK)
        assert mask.SeriesDescription == SERIES_MASK
        assert (full.BitsAllocated, full.BitsStored) == (16, 12) == (crop.BitsAllocated, crop.BitsStored)
        full_pixels, mask_pixels = full.pixel_array, mask.pixel_array
        assert full_pixels.dtype == np.uint16 and full_pixels.max() <= 4095 and full_pixels.max() > 1000
        assert mask_pixels.shape == full_pixels.shape
        assert set(np.unique(mask_pixels)) == {0, MASK_VALUE}
        # A large irregular mass may span the height of a small test mammogram, but a crop is never the whole image.
        crop_pixels = crop.pixel_array
        assert all(np.less_equal(crop_pixels.shape, full_pixels.shape)) and crop_pixels.size < full_pixels.size
        assert crop_pixels.max() <= 4095
        if crop.SeriesInstanceUID == mask.SeriesInstanceUID:
            shared_series_orders.add(int(crop.InstanceNumber))
    # Crop and mask share a series in either order, as in the real download.
    assert shared_series_orders == {1, 2}


def test_same_seed_same_dataset_and_replaces_old_phantom(phantom, tmp_path):
    root, _ = phantom
    again = tmp_path / "again"
    simulate_dataset(again, n_patients=12, seed=3, threads=1, image_rows=96)
    for name in (*CSVS, METADATA_FILE, GROUND_TRUTH_FILE):
        assert (root / name).read_bytes() == (again / name).read_bytes(), name
    simulate_dataset(again, n_patients=5, seed=4, threads=1, image_rows=64)  # an earlier phantom is replaced whole
    assert pd.read_csv(again / GROUND_TRUTH_FILE)["patient_id"].nunique() == 5


def test_refuses_to_replace_a_folder_that_is_not_a_phantom(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="dataset.root"):
        simulate_dataset(tmp_path / "mine", n_patients=4, image_rows=64)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_refuses_a_download_that_looks_like_a_phantom(phantom, tmp_path):
    """A real download has the phantom's file names (CSVs, metadata.csv, CBIS-DDSM/) but not its marker."""
    root, _ = phantom
    download = tmp_path / "download"
    shutil.copytree(root, download)
    (download / PHANTOM_MARKER).unlink()
    (download / GROUND_TRUTH_FILE).unlink()
    before = sorted(p.relative_to(download) for p in download.rglob("*"))
    with pytest.raises(DataError, match="dataset.root"):
        simulate_dataset(download, n_patients=4, image_rows=64)
    assert sorted(p.relative_to(download) for p in download.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["download"]  # no temporary folder left behind


def test_pathology_mix_and_label_model():
    rng = np.random.default_rng(0)
    margins, severity = lesion_model.draw_margin_and_severity(rng, 40_000)
    p = np.empty(len(margins))
    for margin in lesion_model.MARGINS:
        p[margins == margin] = lesion_model.malignancy_probability(margin, severity[margins == margin])
    malignant = rng.random(len(p)) < p
    assert malignant[margins == lesion_model.SPICULATED].mean() == pytest.approx(0.81, abs=0.02)
    assert malignant[margins == lesion_model.CIRCUMSCRIBED].mean() < 0.2
    pathologies = pd.Series([lesion_model.draw_pathology(q, rng) for q in p[:8000]]).value_counts(normalize=True)
    assert pathologies["MALIGNANT"] == pytest.approx(0.46, abs=0.03)
    assert pathologies["BENIGN"] == pytest.approx(0.45, abs=0.03)
    assert pathologies["BENIGN_WITHOUT_CALLBACK"] == pytest.approx(0.08, abs=0.02)
    # Severity carries information within a margin type: the ideal observer is far better than the margin alone.
    from sklearn.metrics import roc_auc_score

    by_margin = pd.Series(malignant).groupby(margins).transform("mean").to_numpy()
    assert 0.93 < roc_auc_score(malignant, p) < 0.97
    assert 0.75 < roc_auc_score(malignant, by_margin) < 0.82


def test_severity_is_rendered_in_every_margin_type():
    """Calcifications (Poisson, CALCIFICATION_RATE * z) and outline roughness grow with severity whatever the margin,
    and the calcifications show: a severe circumscribed mass has bright specks its mild twin lacks."""
    rng = np.random.default_rng(3)
    for margin in (lesion_model.CIRCUMSCRIBED, lesion_model.ILL_DEFINED):
        mild = [lesion_model.draw_lesion(margin, 0.1, 240, (6, 12), rng) for _ in range(300)]
        severe = [lesion_model.draw_lesion(margin, 0.9, 240, (6, 12), rng) for _ in range(300)]
        assert np.mean([len(les.calcifications) for les in mild]) == pytest.approx(1.5, abs=0.4)
        assert np.mean([len(les.calcifications) for les in severe]) == pytest.approx(13.5, abs=1.0)
        assert np.mean([les.sigma2 for les in severe]) > np.mean([les.sigma2 for les in mild]) + 0.04
        inside = np.concatenate([les.calcifications for les in severe])
        assert np.hypot(*inside.T).max() <= lesion_model.CALCIFICATION_REACH
    lesion = lesion_model.draw_lesion(lesion_model.CIRCUMSCRIBED, 0.9, 240, (6, 12), np.random.default_rng(5))
    projection = mammogram_model.draw_projection(lesion, np.random.default_rng(6))
    with_specks, mask = mammogram_model.render_lesion(lesion, projection)
    without, _ = mammogram_model.render_lesion(replace(lesion, calcifications=np.zeros((0, 2))), projection)
    assert len(lesion.calcifications) >= 5
    assert (with_specks - without).max() > 0.5 and (with_specks >= without).all()


def test_irregular_shapes_are_mostly_malignant():
    rng = np.random.default_rng(1)
    lesions = []
    for _ in range(3000):
        margin, severity = lesion_model.draw_margin_and_severity(rng)
        lesions.append(lesion_model.draw_lesion(str(margin), float(severity), 128, (0.3, 1.5), rng))
    irregular = [les.p_malignant for les in lesions if les.shape == lesion_model.IRREGULAR]
    assert np.mean(irregular) == pytest.approx(0.73, abs=0.05)
    spiculated = [les for les in lesions if les.margin == lesion_model.SPICULATED]
    assert np.mean([les.n_spicules for les in spiculated]) == pytest.approx(20, abs=2)


@pytest.mark.parametrize("beta", [2.6, 3.1, 3.4])
def test_background_power_spectrum_slope(beta):
    field = power_law_noise((256, 256), beta, np.random.default_rng(int(beta * 10)))
    assert field.mean() == pytest.approx(0, abs=1e-9) and field.std() == pytest.approx(1)
    assert radial_power_slope(field) == pytest.approx(beta, abs=0.3)


def test_a_crop_is_never_as_large_as_its_mammogram():
    """CBIS-DDSM's readers tell a crop from its mask by size, so a mass that fills the image still gets a smaller crop
    (found with a rough, severe mass in a 240-row phantom: its crop was the whole image and ingest called it a mask)."""
    from synthaug.simulate import _crop_box

    mask = np.zeros((240, 164), bool)
    mask[20:230, 10:150] = True
    assert mask[_crop_box(mask)].shape == (239, 164) and mask[_crop_box(mask)].sum() == mask.sum()
    mask[0:240, 10:150] = True  # touching the top edge: the bottom row goes
    assert mask[_crop_box(mask)].shape == (239, 164)
    small = np.zeros((240, 164), bool)
    small[100:120, 60:80] = True
    assert mask[_crop_box(small)].shape == (36, 36)  # 20 px grown by int(0.25 * 19) + 4 = 8 on each side
