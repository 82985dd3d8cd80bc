"""CBIS-DDSM as TCIA distributes it (DICOM), and the embedded phantom written in the same layout.

Two layouts are found on disk, and both are read without configuration:

* the NBIA Data Retriever layout, whose folder names differ from the CSV paths
  (``CBIS-DDSM/<subject>/<date>-DDSM-<n>/1.000000-full mammogram images-<n>/1-1.dcm``);
* the CSV-path layout, with files exactly at ``root/<csv path>`` or ``root/CBIS-DDSM/<csv path>``.

A CSV path names its subject and SeriesInstanceUID (``<subject>/<study uid>/<series uid>/000000.dcm``); a series
is located by that pair, from ``metadata.csv`` when present, else the CSV path's folder, else by reading the
headers of every DICOM under root. File names and file order are never trusted: TCIA's ROI series hold the crop
and the mask in no fixed order. A file of the full mammogram's size is the mask (read from its header, to avoid
decoding a 30 MB mask); any other file is decoded and is a mask if its pixels are binary, else the crop.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..constants import METADATA_FILE, SERIES_MASK
from ..imageio import header_shape, read_header, roi_kind, without_advice
from ..io import read_csv
from . import tables
from .tables import CaseProblem

log = logging.getLogger("synthaug")

METADATA_COLUMNS = ("Subject ID", "Series UID", "File Location")


def series_key(csv_path) -> tuple[str, str | None]:
    """(subject, SeriesInstanceUID) named by a CSV path; the UID is None if the path is too short to hold one."""
    parts = str(csv_path).replace("\\", "/").split("/")
    return parts[0], parts[2] if len(parts) >= 4 else None


def dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.dcm") if p.is_file()) if folder.is_dir() else []


def metadata_folders(root: Path) -> dict[tuple[str, str], Path]:
    """Series folders listed in NBIA's metadata.csv (``File Location`` is relative to the file's folder)."""
    path = root / METADATA_FILE
    if not path.is_file():
        return {}
    meta = read_csv(path, required=METADATA_COLUMNS, dtype=str, keep_default_na=False)
    folders = {}
    for subject, uid, location in meta[list(METADATA_COLUMNS)].itertuples(index=False):
        parts = [p for p in location.strip().replace("\\", "/").split("/") if p not in ("", ".")]
        folders[(subject.strip(), uid.strip())] = root.joinpath(*parts)
    return folders


def scan_headers(root: Path, threads: int) -> tuple[dict[tuple[str, str], list[Path]], list[DataError]]:
    """Every DICOM under root by (PatientID, SeriesInstanceUID), from headers only; TCIA's PatientID is the subject.

    Also returns the error of each file whose header could not be read: its series is unknown, but its folder
    names its subject (:meth:`SeriesIndex.unreadable`).
    """
    files = sorted(root.rglob("*.dcm"))
    log.info("reading the headers of %d DICOM files under %s to locate series", len(files), root)

    def key(path):
        try:
            header = read_header(path, ["PatientID", "SeriesInstanceUID"])
        except DataError as exc:
            log.warning("%s", exc)
            return exc
        return str(header.get("PatientID", "")).strip(), str(header.get("SeriesInstanceUID", "")).strip()

    index: dict[tuple[str, str], list[Path]] = {}
    unreadable: list[DataError] = []
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for path, k in zip(files, pool.map(key, files)):
            if isinstance(k, DataError):
                unreadable.append(k)
            else:
                index.setdefault(k, []).append(path)
    return index, unreadable


class SeriesIndex:
    """Where each CSV path's series lives on disk, whatever the layout."""

    def __init__(self, root: Path, csv_paths, threads: int):
        self.root = root
        self.folders = metadata_folders(root)
        self.scanned: dict[tuple[str, str], list[Path]] = {}
        self.unreadable_files: list[DataError] = []
        if any(not self._direct(p) for p in csv_paths):
            self.scanned, self.unreadable_files = scan_headers(root, threads)

    def unreadable(self, *csv_paths) -> DataError | None:
        """The error of an unreadable DICOM that the header scan met in a folder of a subject these CSV paths name
        (NBIA's folders are named by subject): the likely file of a series that was not found."""
        subjects = {series_key(p)[0] for p in csv_paths}
        for error in self.unreadable_files:
            if subjects & set(Path(error.path).relative_to(self.root).parts[:-1]):
                return error
        return None

    def _direct(self, csv_path) -> list[Path]:
        """Files found without reading headers: metadata.csv's folder, else the CSV path's own folder."""
        key = series_key(csv_path)
        if key in self.folders:
            found = dicom_files(self.folders[key])
            if found:
                return found
        rel = Path(str(csv_path).replace("\\", "/"))
        for base in (self.root, self.root / "CBIS-DDSM"):
            found = dicom_files((base / rel).parent)
            if found:
                return found
        return []

    def files(self, csv_path) -> list[Path]:
        return self._direct(csv_path) or self.scanned.get(series_key(csv_path), [])


def tell_crop_from_mask(files: list[Path], full_shape: tuple[int, int]) -> tuple[Path | None, Path | None]:
    """(crop, mask) among an ROI series' files, by image size and pixel values (see the module docstring)."""
    crops, masks = [], []
    for path in files:
        (masks if roi_kind(path, full_shape) == SERIES_MASK else crops).append(path)
    return (crops[0] if crops else None), (masks[0] if masks else None)


def locate_case(case, index: SeriesIndex) -> dict[str, str]:
    """The full mammogram, crop and mask files of one case row; raises CaseProblem if one cannot be used."""
    image_files = index.files(case.image_csv_path)
    if not image_files:
        raise _not_found(index, tables.NO_FILE, case.image_csv_path,
                         f"no DICOM file for the full mammogram {case.image_csv_path}")
    try:
        full_shape = header_shape(image_files[0])
        roi_files = sorted(set(index.files(case.crop_csv_path)) | set(index.files(case.mask_csv_path)))
        crop, mask = tell_crop_from_mask(roi_files, full_shape)
    except DataError as exc:
        raise CaseProblem(tables.UNREADABLE, exc.path, without_advice(str(exc))) from exc
    if crop is None:
        reason = tables.MASK_WITHOUT_CROP if mask is not None else tables.NO_FILE
        raise _not_found(index, reason, case.crop_csv_path, f"no cropped image found for {case.crop_csv_path}")
    if mask is None:
        raise _not_found(index, tables.NO_FILE, case.mask_csv_path, f"no ROI mask found for {case.mask_csv_path}")
    return {"image_path": image_files[0].as_posix(), "crop_path": crop.as_posix(), "mask_path": mask.as_posix()}


def _not_found(index: SeriesIndex, reason: str, csv_path, detail: str) -> CaseProblem:
    """Why a file was not found: ``reason``, or an unreadable image if the header scan met one of its subject."""
    error = index.unreadable(csv_path)
    if error is not None:
        return CaseProblem(tables.UNREADABLE, error.path, f"{without_advice(str(error))} (looked for as {csv_path})")
    return CaseProblem(reason, index.root / csv_path, detail)


def load_cases(dataset: dict, threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical case table and the QC table of a CBIS-DDSM (or phantom) folder."""
    root = Path(dataset["root"])
    qc = tables.QCLog(dataset["on_error"])
    cases = tables.read_case_tables(root, dataset["abnormality"], qc)
    log.info("read %d case rows from %s", len(cases), root)

    csv_paths = pd.concat([cases[c] for c in ("image_csv_path", "crop_csv_path", "mask_csv_path")]).dropna().unique()
    index = SeriesIndex(root, csv_paths, threads)
    located = tables.locate_all(cases, lambda case: locate_case(case, index), threads)
    for case, found in zip(cases.itertuples(), located):
        if isinstance(found, CaseProblem):  # reported in CSV order, so "stop" names the first bad row
            qc.drop(root / case.source_file, case.source_row, case.case_id, found.reason, found.detail, found.path)
    kept = [i for i, found in enumerate(located) if not isinstance(found, CaseProblem)]
    cases = cases.iloc[kept].copy()
    for column in ("image_path", "crop_path", "mask_path"):
        cases[column] = [located[i][column] for i in kept]
    return tables.finish_case_table(cases), qc.table()
