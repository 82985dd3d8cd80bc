"""CBIS-DDSM as re-distributed on Kaggle: the TCIA case CSVs unchanged, every DICOM converted to an 8-bit JPEG.

``root/csv/`` holds the four case CSVs and ``dicom_info.csv`` (one row per image: its ``image_path``
``CBIS-DDSM/jpeg/<SeriesInstanceUID>/1-<n>.jpg``, SeriesInstanceUID and SeriesDescription); images are
``root/jpeg/<SeriesInstanceUID>/1-<n>.jpg``. A case-CSV path names its series as its third component, so each row's
full mammogram, crop and mask are the JPEGs of those series. Quirks of the download, and what is done about them:

* ``image_path`` is rewritten onto the local ``root/jpeg`` (its last two components, ``<series>/<file>``), so a
  copy unpacked anywhere is found;
* dicom_info rows without an ``image_path`` still have their file on disk: each series' folder is listed too;
* some SeriesDescriptions are missing or wrong (a crop labelled as mask), so the description is never trusted for
  crop versus mask: a JPEG of the full mammogram's size is the mask (size read from the JPEG header, no decoding),
  any other is decoded and is a mask if nearly all its pixels sit near black or white (JPEG leaves masks near 0/255,
  not exact), else the crop. A disagreeing or missing description is recorded in qc.csv as a repair;
* a row whose series match no file is a QC drop (or a stop), never silently lost;
* a truncated JPEG (an interrupted download or unzip) decodes without error in OpenCV, so every JPEG a row uses is
  checked for its end-of-image marker; a truncated or unreadable one is an "unreadable image" row;
* ``meta.csv`` counts series, not images, so its crop/mask numbers mislead: it is not read.

The case CSVs are normalised by :mod:`.tables` exactly as for the DICOM layouts, so ``cases.csv`` is the same table,
with image_path/crop_path/mask_path pointing at the local JPEGs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..constants import SERIES_CROP, SERIES_FULL, SERIES_MASK
from ..errors import DataError
from ..imageio import jpeg_shape, roi_kind, without_advice
from ..io import read_csv
from . import tables
from .cbis_ddsm import series_key
from .tables import CaseProblem

log = logging.getLogger("synthaug")

CSV_DIR, JPEG_DIR = "csv", "jpeg"
DICOM_INFO = "dicom_info.csv"
INFO_COLUMNS = ("image_path", "SeriesInstanceUID", "SeriesDescription")
DESCRIPTION_FIXED = "series description corrected"


def read_dicom_info(path, jpeg_dir: Path) -> dict[str, dict[Path, str | None]]:
    """{SeriesInstanceUID: {local JPEG: SeriesDescription or None}} from dicom_info.csv; rows without a path skipped."""
    info = read_csv(path, required=INFO_COLUMNS, dtype=str, keep_default_na=False)
    series: dict[str, dict[Path, str | None]] = {}
    for image_path, uid, description in info[list(INFO_COLUMNS)].itertuples(index=False):
        parts = [p for p in image_path.strip().replace("\\", "/").split("/") if p]
        if len(parts) < 2:
            continue  # no path: the series folder's listing finds the file
        series.setdefault(uid.strip() or parts[-2], {})[jpeg_dir / parts[-2] / parts[-1]] = description.strip() or None
    return series


class JpegIndex:
    """The JPEGs of each series, with dicom_info's description where it has one."""

    def __init__(self, jpeg_dir: Path, described: dict[str, dict[Path, str | None]]):
        self.jpeg_dir, self.described = jpeg_dir, described

    def files(self, uid: str | None) -> dict[Path, str | None]:
        if uid is None:
            return {}
        found = {p: d for p, d in self.described.get(uid, {}).items() if p.is_file()}
        for path in sorted((self.jpeg_dir / uid).glob("*.jpg")):
            found.setdefault(path, None)
        return found

    def expected(self, uid: str | None, description: str) -> Path:
        """Where a missing image should be, for the user: dicom_info.csv's path for it, else its series folder."""
        listed = self.described.get(uid, {}) if uid else {}
        return next((p for p, d in listed.items() if d == description), self.jpeg_dir / str(uid))


def locate_case(case, index: JpegIndex) -> tuple[dict[str, str], list[str]]:
    """The full mammogram, crop and mask JPEGs of one case row, and notes on corrected descriptions.

    Raises CaseProblem if one of the three cannot be found or read.
    """
    uids = {kind: series_key(getattr(case, f"{kind}_csv_path"))[1] for kind in ("image", "crop", "mask")}
    full = index.files(uids["image"])
    if not full:
        raise CaseProblem(tables.NO_FILE, index.expected(uids["image"], SERIES_FULL),
                          f"no JPEG of the full mammogram's series {uids['image']} in dicom_info.csv or under jpeg/")
    image = next((p for p, d in full.items() if d == SERIES_FULL), next(iter(full)))
    roi = {**index.files(uids["crop"]), **index.files(uids["mask"])}
    roi.pop(image, None)
    try:
        full_shape = jpeg_shape(image)
        kinds = {path: roi_kind(path, full_shape) for path in sorted(roi)}
    except DataError as exc:
        raise CaseProblem(tables.UNREADABLE, exc.path, without_advice(str(exc))) from exc
    crops = [p for p, kind in kinds.items() if kind == SERIES_CROP]
    masks = [p for p, kind in kinds.items() if kind == SERIES_MASK]
    if not crops:
        reason = tables.MASK_WITHOUT_CROP if masks else tables.NO_FILE
        raise CaseProblem(reason, index.expected(uids["crop"], SERIES_CROP),
                          f"no cropped image among the JPEGs of series {uids['crop']} ({len(masks)} mask(s) found)")
    if not masks:
        raise CaseProblem(tables.NO_FILE, index.expected(uids["mask"], SERIES_MASK),
                          f"no ROI mask among the JPEGs of series {uids['mask']}")
    notes = [f"{p.parent.name}/{p.name}: dicom_info.csv says '{roi[p] or 'nothing'}', size and pixels say '{kind}'"
             for p, kind in kinds.items() if roi[p] != kind]
    paths = {"image_path": image.as_posix(), "crop_path": crops[0].as_posix(), "mask_path": masks[0].as_posix()}
    return paths, notes


def load_cases(dataset: dict, threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical case table and the QC table of a Kaggle CBIS-DDSM folder (the one holding csv/ and jpeg/)."""
    root = Path(dataset["root"])
    csv_dir, jpeg_dir = root / CSV_DIR, root / JPEG_DIR
    for folder in (csv_dir, jpeg_dir):
        if not folder.is_dir():
            raise DataError(folder, "folder not found; dataset.root must be the unpacked Kaggle download, "
                            "the folder holding csv/ and jpeg/")
    qc = tables.QCLog(dataset["on_error"])
    cases = tables.read_case_tables(csv_dir, dataset["abnormality"], qc)
    index = JpegIndex(jpeg_dir, read_dicom_info(csv_dir / DICOM_INFO, jpeg_dir))
    log.info("read %d case rows and %d series from %s", len(cases), len(index.described), csv_dir)
    located = tables.locate_all(cases, lambda case: locate_case(case, index), threads)
    for case, found in zip(cases.itertuples(), located):  # in CSV order, so "stop" names the first bad row
        if isinstance(found, CaseProblem):
            qc.drop(csv_dir / case.source_file, case.source_row, case.case_id, found.reason, found.detail, found.path)
        else:
            for note in found[1]:
                qc.repair(case.source_file, case.source_row, case.case_id, DESCRIPTION_FIXED, note)
    kept = [i for i, found in enumerate(located) if not isinstance(found, CaseProblem)]
    cases = cases.iloc[kept].copy()
    for column in ("image_path", "crop_path", "mask_path"):
        cases[column] = [located[i][0][column] for i in kept]
    return tables.finish_case_table(cases), qc.table()
