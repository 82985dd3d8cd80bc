"""Ingestion of the Kaggle JPEG re-distribution of CBIS-DDSM, with each quirk of the real download."""

import cv2
import numpy as np
import pandas as pd
import pytest
from fixtures.cbis import write_cbis
from fixtures.kaggle import write_kaggle

from synthaug.constants import CASE_COLUMNS, CASE_CSV_FILES, SERIES_CROP, SERIES_MASK
from synthaug import imageio
from synthaug.datasets import kaggle, load_cases, tables
from synthaug.errors import DataError
from synthaug.preprocess import preprocess_files

PATHS = ("image_path", "crop_path", "mask_path")


def config(root, **overrides):
    return {"name": "cbis-ddsm-kaggle", "root": str(root), "abnormality": "mass", "image": "crop", "on_error": "stop",
            **overrides}


def dicom_info(root) -> pd.DataFrame:
    return pd.read_csv(root / "csv" / kaggle.DICOM_INFO, dtype=str, keep_default_na=False)


def edit_info(root, change):
    change(dicom_info(root)).to_csv(root / "csv" / kaggle.DICOM_INFO, index=False)


def assert_found(cases, files):
    for case in cases.itertuples():
        expected = files[case.case_id]
        assert tuple(getattr(case, c) for c in PATHS) == tuple(expected[k].as_posix() for k in ("image", "crop", "mask"))


@pytest.fixture
def kaggle_root(tmp_path):
    files = write_kaggle(tmp_path / "kaggle")
    return tmp_path / "kaggle", files


def test_every_row_finds_its_jpegs_despite_the_quirks(kaggle_root):
    root, files = kaggle_root
    (root / "csv" / "meta.csv").write_text("not, what, it, seems\n")  # never read: its counts mislead
    cases, qc = load_cases(config(root), threads=2)
    assert len(cases) == 18 and cases["case_id"].is_unique
    assert_found(cases, files)
    assert not cases["crop_csv_path"].str.contains(r"\s").any()  # trailing newlines stripped
    assert (cases["mass_margins"] == tables.FILL_VALUE).sum() == (qc["reason"] == tables.FILLED).sum() > 0
    fixed = qc[qc["reason"] == kaggle.DESCRIPTION_FIXED]
    # the crop described as a mask, the mask without a description, the crop whose row has no image_path
    assert fixed["case_id"].tolist() == ["Mass-Training_P_00001_RIGHT_CC_1", "Mass-Training_P_00001_RIGHT_CC_2",
                                         "Mass-Training_P_00001_RIGHT_MLO_1"]
    assert set(fixed["action"]) == {tables.REPAIRED}
    assert f"says '{SERIES_MASK}', size and pixels say '{SERIES_CROP}'" in fixed["detail"].iloc[0]
    summary = tables.summarise(cases, qc).set_index("value")["count"]
    assert summary[f"{tables.REPAIRED}: {kaggle.DESCRIPTION_FIXED}"] == 3


def test_same_case_table_as_the_dicom_reader(kaggle_root, tmp_path):
    write_cbis(tmp_path / "dicom", "csv")
    dicom_cases, _ = load_cases(config(tmp_path / "dicom", name="cbis-ddsm"))
    cases, _ = load_cases(config(kaggle_root[0]))
    assert list(cases.columns) == list(dicom_cases.columns)
    assert list(cases.columns[: len(CASE_COLUMNS)]) == list(CASE_COLUMNS)
    assert cases.dtypes.equals(dicom_cases.dtypes)


@pytest.mark.parametrize("abnormality, prefixes", [("mass", {"Mass"}), ("calc", {"Calc"}), ("both", {"Mass", "Calc"})])
def test_abnormality_selects_the_case_csvs(tmp_path, abnormality, prefixes):
    files = write_kaggle(tmp_path, abnormalities=("mass", "calc"))
    unused = {"mass": "calc", "calc": "mass"}.get(abnormality)
    for split in ("train", "test"):  # the other kind's CSVs are not needed
        if unused:
            (tmp_path / "csv" / CASE_CSV_FILES[(unused, split)]).unlink()
    cases, _ = load_cases(config(tmp_path, abnormality=abnormality))
    assert set(cases["case_id"].str.split("-").str[0]) == prefixes
    assert len(cases) == 18 * len(prefixes)
    assert_found(cases, files)
    if "Calc" in prefixes:
        calc = cases[cases["case_id"].str.startswith("Calc")]
        assert calc["breast_density"].notna().all() and calc["calc_type"].notna().all()


def test_dicom_reader_reads_the_csvs_of_the_chosen_abnormality(tmp_path):
    write_cbis(tmp_path, "csv")  # mass CSVs only
    with pytest.raises(DataError, match="file not found") as error:
        load_cases(config(tmp_path, name="cbis-ddsm", abnormality="calc"))
    assert error.value.path.endswith(CASE_CSV_FILES[("calc", "train")])


def test_a_row_matching_nothing_is_reported(kaggle_root):
    root, _ = kaggle_root
    path = root / "csv" / CASE_CSV_FILES[("mass", "test")]
    csv = pd.read_csv(path, dtype=str, keep_default_na=False)
    subject = "Mass-Test_P_09999_LEFT_CC"  # a row whose series are neither in dicom_info.csv nor under jpeg/
    orphan = csv.iloc[[0]].assign(**{"image file path": f"{subject}/9.1/9.2/000000.dcm",
                                     "cropped image file path": f"{subject}_1/9.3/9.4/000000.dcm",
                                     "ROI mask file path": f"{subject}_1/9.3/9.4/000001.dcm"})
    pd.concat([csv, orphan]).to_csv(path, index=False)
    with pytest.raises(DataError, match=f"no matching file for row {len(csv) + 1} ") as error:
        load_cases(config(root))
    assert "jpeg" in error.value.path
    cases, qc = load_cases(config(root, on_error="skip"))
    assert len(cases) == 18
    dropped = qc[qc["action"] == tables.DROPPED]
    assert dropped[["source_file", "row", "reason"]].values.tolist() == [[path.name, len(csv) + 1, tables.NO_FILE]]


def test_image_path_prefix_is_rewritten_to_the_local_folder(kaggle_root):
    root, files = kaggle_root
    elsewhere = "../input/cbis-ddsm/jpeg/"  # wherever the notebook that wrote it kept the files
    edit_info(root, lambda df: df.assign(image_path=elsewhere + df["image_path"].str.split("jpeg/").str[1] + "\n",
                                         SeriesInstanceUID=""))  # the series is then the path's folder
    cases, _ = load_cases(config(root))
    assert_found(cases, files)


def test_mask_of_another_size_is_told_by_its_pixels(kaggle_root):
    root, files = kaggle_root
    mask = files["Mass-Training_P_00002_LEFT_CC_1"]["mask"]
    pixels = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)[:-3]  # no longer the full mammogram's size
    cv2.imwrite(str(mask), pixels, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ((pixels > 0) & (pixels < 255)).any()  # JPEG: near 0/255, not exact
    edit_info(root, lambda df: df.assign(SeriesDescription=df["SeriesDescription"].replace(SERIES_MASK, SERIES_CROP)))
    cases, _ = load_cases(config(root))
    assert_found(cases, files)


def test_mask_without_crop_is_recorded(kaggle_root):
    root, files = kaggle_root
    files["Mass-Test_P_00003_RIGHT_CC_1"]["crop"].unlink()  # its dicom_info row stays, pointing at nothing
    cases, qc = load_cases(config(root, on_error="skip"))
    assert qc.loc[qc["action"] == tables.DROPPED, "reason"].tolist() == [tables.MASK_WITHOUT_CROP]
    assert len(cases) == 17


def test_dicom_info_without_its_columns_names_the_file(kaggle_root):
    root, _ = kaggle_root
    edit_info(root, lambda df: df.drop(columns=["SeriesDescription"]))
    with pytest.raises(DataError, match="SeriesDescription") as error:
        load_cases(config(root))
    assert error.value.path.endswith(kaggle.DICOM_INFO)


@pytest.mark.parametrize("missing", ["csv", "jpeg"])
def test_root_that_is_not_the_download_says_what_it_should_be(kaggle_root, missing):
    root, _ = kaggle_root
    (root / missing).rename(root / f"{missing}.moved")
    with pytest.raises(DataError, match="folder holding csv/ and jpeg/"):
        load_cases(config(root))


@pytest.mark.parametrize("progressive", [0, 1])
def test_jpeg_shape_reads_the_header(tmp_path, progressive):
    path = tmp_path / "x.jpg"
    cv2.imwrite(str(path), np.full((37, 53), 128, np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, progressive])
    assert imageio.jpeg_shape(path) == (37, 53)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        imageio.jpeg_shape(path)
    path.write_bytes(data[:2] + b"\xff\xd9")
    with pytest.raises(DataError, match="ends before"):
        imageio.jpeg_shape(path)


@pytest.mark.parametrize("image", ["crop", "full"])
def test_jpegs_flow_through_preprocessing(kaggle_root, image):
    cases, _ = load_cases(config(kaggle_root[0], image=image))
    column = "crop_path" if image == "crop" else "image_path"
    paths = cases[column].tolist()[:4]
    images = preprocess_files(paths, size=32, blur_kernel=3, full_image=image == "full")
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.05
    if image == "full":  # cut to the breast (a half-ellipse narrower than the film), so more padding columns
        whole = preprocess_files(paths, size=32, blur_kernel=3)
        padding = [(x == 0).all(axis=(0, 1, 3)).sum() for x in (images, whole)]
        assert padding[0] > padding[1]
