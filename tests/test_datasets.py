"""Ingestion of CBIS-DDSM case CSVs and DICOMs, in both TCIA layouts, with its QC record."""

import numpy as np
import pandas as pd
import pytest
from fixtures.cbis import write_cbis

from synthaug.constants import CASE_COLUMNS, CASE_CSV_FILES, QC_COLUMNS
from synthaug.datasets import load_cases, tables
from synthaug.errors import ConfigError, DataError

PATHS = ["image_path", "crop_path", "mask_path"]


def config(root, **overrides):
    return {"name": "cbis-ddsm", "root": str(root), "abnormality": "mass", "image": "crop", "on_error": "stop", **overrides}


def edit_csv(root, split, change):
    """Apply ``change`` to one of the fixture's case CSVs (read and written as text)."""
    path = root / CASE_CSV_FILES[("mass", split)]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(df).to_csv(path, index=False)


@pytest.fixture
def nbia(tmp_path):
    files = write_cbis(tmp_path / "nbia", "nbia")
    return tmp_path / "nbia", files


def test_both_layouts_give_the_same_cases(tmp_path):
    found = {}
    for name, layout, metadata in [("meta", "nbia", True), ("scan", "nbia", False), ("csv", "csv", True)]:
        files = write_cbis(tmp_path / name, layout, metadata=metadata)
        cases, _ = load_cases(config(tmp_path / name), threads=2)
        assert list(cases.columns[: len(CASE_COLUMNS)]) == list(CASE_COLUMNS)
        for case in cases.itertuples():  # the files the fixture wrote for this case, whatever their names
            assert (case.image_path, case.crop_path, case.mask_path) == tuple(
                files[case.case_id][k].as_posix() for k in ("image", "crop", "mask"))
        found[name] = cases.drop(columns=PATHS)
    assert len(found["meta"]) == 18
    pd.testing.assert_frame_equal(found["meta"], found["scan"])
    pd.testing.assert_frame_equal(found["meta"], found["csv"])


def test_crop_and_mask_are_told_apart_by_pixels_not_names(tmp_path):
    files = write_cbis(tmp_path, "csv", swap_roi=True)
    cases, _ = load_cases(config(tmp_path))
    case = cases.iloc[0]
    assert case.crop_path == files[case.case_id]["crop"].as_posix()
    assert case.crop_path.endswith("000001.dcm")  # where the CSV says the mask is


def test_normalisation_strips_paths_and_fills_margins(nbia):
    root, _ = nbia
    raw = pd.read_csv(root / CASE_CSV_FILES[("mass", "train")], dtype=str, keep_default_na=False)
    assert raw["image file path"].str.endswith("\n").any()  # the fixture mimics the real CSVs
    cases, qc = load_cases(config(root))
    assert not cases["crop_csv_path"].str.contains(r"\s").any()
    assert not cases["case_id"].str.contains(r"\s").any()
    assert cases["case_id"].iloc[0] == "Mass-Training_P_00001_RIGHT_CC_1"
    assert cases["mass_margins"].notna().all()
    filled = qc[qc["reason"] == tables.FILLED]
    assert len(filled) == (cases["mass_margins"] == tables.FILL_VALUE).sum() > 0
    assert set(filled["action"]) == {tables.REPAIRED}
    assert list(qc.columns) == list(QC_COLUMNS)
    assert set(cases["label"]) == {0, 1}
    assert (cases["label"] == (cases["pathology"] == "MALIGNANT")).all()


def test_missing_image_stops_naming_it_or_is_skipped(tmp_path):
    files = write_cbis(tmp_path, "csv")
    missing = files["Mass-Training_P_00001_RIGHT_CC_1"]["image"]
    missing.unlink()
    with pytest.raises(DataError, match="no matching file") as error:
        load_cases(config(tmp_path))
    assert error.value.path == str(missing)
    cases, qc = load_cases(config(tmp_path, on_error="skip"))
    dropped = qc[qc["action"] == tables.DROPPED]
    assert len(cases) == 18 - 2  # that mammogram holds two abnormalities
    assert set(dropped["reason"]) == {tables.NO_FILE}
    assert set(dropped["case_id"]) == {"Mass-Training_P_00001_RIGHT_CC_1", "Mass-Training_P_00001_RIGHT_CC_2"}


def test_mask_without_crop_is_recorded(nbia):
    root, files = nbia
    files["Mass-Training_P_00001_RIGHT_CC_1"]["crop"].unlink()
    cases, qc = load_cases(config(root, on_error="skip"))
    assert qc.loc[qc["action"] == tables.DROPPED, "reason"].tolist() == [tables.MASK_WITHOUT_CROP]
    assert "Mass-Training_P_00001_RIGHT_CC_1" not in set(cases["case_id"])


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_dicom_stops_naming_it(tmp_path, damage):
    files = write_cbis(tmp_path, "csv")
    crop = files["Mass-Test_P_00003_RIGHT_MLO_1"]["crop"]
    data = crop.read_bytes()
    crop.write_bytes(b"not a dicom file" * 20 if damage == "garbage" else data[: len(data) - 40])
    with pytest.raises(DataError, match="unreadable image") as error:
        load_cases(config(tmp_path))
    assert error.value.path == str(crop)
    _, qc = load_cases(config(tmp_path, on_error="skip"))
    assert qc.loc[qc["action"] == tables.DROPPED, "reason"].tolist() == [tables.UNREADABLE]


def test_csv_missing_a_column_names_file_and_column(nbia):
    root, _ = nbia
    edit_csv(root, "test", lambda df: df.drop(columns=["mass margins"]))
    with pytest.raises(DataError, match="mass margins") as error:
        load_cases(config(root))
    assert error.value.path.endswith(CASE_CSV_FILES[("mass", "test")])


def test_unknown_pathology_and_duplicate_rows(nbia):
    root, _ = nbia

    def damage(df):
        df.loc[1, "pathology"] = "MAYBE"
        return pd.concat([df, df.iloc[[0]]])

    edit_csv(root, "train", damage)
    with pytest.raises(DataError, match="row 2 .*MAYBE"):
        load_cases(config(root))
    cases, qc = load_cases(config(root, on_error="skip"))
    assert cases["case_id"].is_unique and len(cases) == 17
    assert set(qc["reason"]) >= {tables.UNKNOWN_PATHOLOGY, tables.DUPLICATE}


def test_a_class_with_no_cases_stops(nbia):
    root, _ = nbia
    for split in ("train", "test"):
        edit_csv(root, split, lambda df: df.assign(pathology="BENIGN"))
    with pytest.raises(DataError, match="no malignant cases"):
        load_cases(config(root))


def test_unknown_dataset_name_is_a_config_error(nbia):
    with pytest.raises(ConfigError, match="dataset.name"):
        load_cases(config(nbia[0], name="cbis-ddsm-dropbox"))


def test_calc_columns_are_normalised():
    raw = pd.DataFrame([{
        "patient_id": "P_00005", "breast density": "3", "left or right breast": "right", "image view": "CC",
        "abnormality id": "1", "abnormality type": "calcification", "calc type": "", "calc distribution": "CLUSTERED",
        "assessment": "3", "pathology": "malignant", "subtlety": "2",
        "image file path": "Calc-Training_P_00005_RIGHT_CC/1.2/1.3/000000.dcm\n",
        "cropped image file path": "Calc-Training_P_00005_RIGHT_CC_1/1.4/1.5/000000.dcm",
        "ROI mask file path": "Calc-Training_P_00005_RIGHT_CC_1/1.4/1.5/000001.dcm",
    }])
    qc = tables.QCLog("stop")
    df = tables.normalise_case_table(raw, "train", "calc_case_description_train_set.csv", qc)
    row = df.iloc[0]
    assert (row.breast_density, row.breast, row.calc_type, row.label) == ("3", "RIGHT", tables.FILL_VALUE, 1)
    assert row.case_id == "Calc-Training_P_00005_RIGHT_CC_1"
    assert len(qc.table()) == 1


def test_summary_counts_and_figure(nbia, tmp_path):
    from synthaug.plots.common import save_figure
    from synthaug.plots.data import dataset_summary

    cases, qc = load_cases(config(nbia[0]))
    summary = tables.summarise(cases, qc)
    per_split = summary[(summary["kind"] == "pathology") & (summary["source_split"] != "all")]
    assert per_split["count"].sum() == len(cases)
    assert summary.loc[summary["kind"] == "qc", "count"].sum() == len(qc)
    save_figure(dataset_summary(cases), tmp_path / "summary.png")
    assert (tmp_path / "summary.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("which", ["crop", "image"])
def test_an_unreadable_dicom_met_by_the_header_scan_is_recorded_as_unreadable(tmp_path, which):
    """Without metadata.csv series are found by reading headers: a file whose header cannot be read is the case's
    unreadable image (with the reason), not a 'no matching file' or 'mask without crop'."""
    files = write_cbis(tmp_path, "nbia", metadata=False)
    bad = files["Mass-Training_P_00001_RIGHT_CC_1"][which]
    bad.write_bytes(b"not a dicom file" * 20)
    with pytest.raises(DataError, match="unreadable image") as error:
        load_cases(config(tmp_path))
    assert error.value.path == str(bad)
    _, qc = load_cases(config(tmp_path, on_error="skip"))
    dropped = qc[qc["action"] == tables.DROPPED]
    assert set(dropped["reason"]) == {tables.UNREADABLE}
    assert dropped["detail"].str.contains(str(bad), regex=False).all()
    assert dropped["detail"].str.contains("not a readable DICOM file").all()


def test_a_compressed_dicom_without_its_decoder_is_recorded_with_the_package_to_install(tmp_path):
    from fixtures.cbis import write_dicom
    from synthaug.imageio import _decoder_available, pydicom

    if _decoder_available(pydicom.uid.UID("1.2.840.10008.1.2.4.57")):
        pytest.skip("a JPEG Lossless decoder is installed here")
    files = write_cbis(tmp_path, "csv")
    crop = files["Mass-Test_P_00003_RIGHT_MLO_1"]["crop"]
    write_dicom(crop, np.zeros((14, 13), np.uint16), "S", "1.2", "1.3", 12, compressed="1.2.840.10008.1.2.4.57")
    _, qc = load_cases(config(tmp_path, on_error="skip"))
    dropped = qc[qc["action"] == tables.DROPPED]
    assert dropped["reason"].tolist() == [tables.UNREADABLE]
    assert "JPEG Lossless" in dropped["detail"].iloc[0] and "pylibjpeg-libjpeg" in dropped["detail"].iloc[0]
