"""The case table every dataset adapter produces, and the QC record of rows dropped or repaired on the way.

Adapters differ only in where images live; the CBIS-DDSM case CSVs are the same in every distribution.
So reading and normalising those CSVs (the study's feature engineering, done once) lives here:

* column names become snake_case (``left or right breast`` -> ``breast``, ``image view`` -> ``view``;
  ``breast_density`` and the calc CSVs' ``breast density`` both become ``breast_density``);
* every text cell is stripped (real CSV paths end in newlines) and blank cells become missing;
* missing descriptive values (``mass margins``, ``mass shape``, ``calc type``, ``calc distribution``) become
  ``UNKNOWN``, each recorded in qc.csv. The study back-filled margins from the next row, which copies an unrelated
  lesion's description; ``UNKNOWN`` says what is known and keeps rows independent of file order;
* ``pathology`` is upper-cased and mapped to ``label`` (1 = malignant); an unknown value is a bad row;
* ``case_id`` is the subject of the crop path (``Mass-Training_P_00001_LEFT_CC_1``): unique per abnormality image.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from ..constants import (
    CALC_CSV_COLUMNS,
    CASE_COLUMNS,
    CASE_CSV_FILES,
    CLASS_NAMES,
    LABEL_OF_PATHOLOGY,
    MASS_CSV_COLUMNS,
    QC_COLUMNS,
    SOURCE_SPLITS,
)
from ..errors import DataError
from ..io import read_csv

CSV_COLUMNS = {"mass": MASS_CSV_COLUMNS, "calc": CALC_CSV_COLUMNS}
ABNORMALITIES = {"mass": ("mass",), "calc": ("calc",), "both": ("mass", "calc")}  # dataset.abnormality -> CSV kinds

# Where snake_case alone would not give the canonical name. The CSV paths keep their own columns:
# the canonical image_path/crop_path/mask_path are the files an adapter found on disk.
RENAMES = {
    "left_or_right_breast": "breast",
    "image_view": "view",
    "image_file_path": "image_csv_path",
    "cropped_image_file_path": "crop_csv_path",
    "roi_mask_file_path": "mask_csv_path",
}
PATH_COLUMNS = ("image_csv_path", "crop_csv_path", "mask_csv_path")
FILLED_COLUMNS = ("mass_shape", "mass_margins", "calc_type", "calc_distribution")
FILL_VALUE = "UNKNOWN"
DESCRIPTIVE_COLUMNS = (
    "breast_density",
    "mass_shape",
    "mass_margins",
    "calc_type",
    "calc_distribution",
    "assessment",
    "subtlety",
    "image_csv_path",
    "crop_csv_path",
    "mask_csv_path",
    "source_file",
    "source_row",
)

# QC reasons (the `reason` column of qc.csv); adapters add their own detail.
NO_FILE = "no matching file"
UNREADABLE = "unreadable image"
MASK_WITHOUT_CROP = "mask without crop"
UNKNOWN_PATHOLOGY = "unknown pathology value"
DUPLICATE = "duplicate row"
FILLED = "missing value filled"
DROPPED, REPAIRED, IGNORED = "dropped", "repaired", "ignored"


class CaseProblem(Exception):
    """Why an adapter could not use one case row: a QC reason, the file at fault and a detail for the user."""

    def __init__(self, reason: str, path, detail: str):
        super().__init__(detail)
        self.reason, self.path, self.detail = reason, path, detail


class QCLog:
    """Collects every CSV row dropped or repaired, and applies ``dataset.on_error`` to bad rows.

    ``row`` is the 1-based record number after the header (not the line number: quoted paths span lines).
    """

    def __init__(self, on_error: str):
        self.on_error = on_error
        self.records: list[dict] = []

    def drop(self, source_file, row, case_id, reason: str, detail: str, path=None) -> None:
        """A bad row: stop with a message naming ``path`` (the file at fault, else the CSV), or record and drop it.

        ``row`` None: a file found by listing a folder (image-folder without a manifest), not a CSV row.
        """
        if self.on_error == "stop":
            where = f"row {row} ({case_id}) of {Path(source_file).name}" if row is not None else f"{case_id}"
            raise DataError(
                path or source_file,
                f"{reason} for {where}: {detail}. "
                "Restore or fix it, or set dataset.on_error: skip to drop such rows (listed in results/data/qc.csv).",
            )
        self._add(source_file, row, case_id, DROPPED, reason, detail)

    def ignore(self, source_file, row, case_id, reason: str, detail: str) -> None:
        """A file not meant as data (a class folder outside dataset.classes, a non-image file): recorded, never a stop."""
        self._add(source_file, row, case_id, IGNORED, reason, detail)

    def repair(self, source_file, row, case_id, reason: str, detail: str) -> None:
        """A row kept after a documented repair (never stops ingestion)."""
        self._add(source_file, row, case_id, REPAIRED, reason, detail)

    def _add(self, source_file, row, case_id, action, reason, detail):
        self.records.append(dict(zip(QC_COLUMNS, (Path(source_file).name, row, case_id, action, reason, detail))))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=list(QC_COLUMNS))


def snake_case(name: str) -> str:
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_")


def read_case_csv(path, abnormality: str) -> pd.DataFrame:
    """A CBIS-DDSM case CSV as text, stopping with a message if one of its 14 columns is missing."""
    raw = read_csv(path, required=CSV_COLUMNS[abnormality], dtype=str, keep_default_na=False)
    return raw.rename(columns=str.strip)


def path_subject(csv_path) -> str:
    """The subject (first component) of a CBIS-DDSM CSV path, e.g. ``Mass-Training_P_00001_LEFT_CC_1``."""
    return str(csv_path).replace("\\", "/").split("/")[0]


def normalise_case_table(raw: pd.DataFrame, source_split: str, source_file, qc: QCLog) -> pd.DataFrame:
    """One case CSV in canonical form (see the module docstring); bad rows go through ``qc``."""
    df = raw.rename(columns=lambda c: RENAMES.get(snake_case(c), snake_case(c)))
    df = df.apply(lambda col: col.str.strip()).replace("", pd.NA)
    df["source_file"] = Path(source_file).name
    df["source_row"] = range(1, len(df) + 1)
    df["source_split"] = source_split
    # A row without a crop path is dropped below; its id still names the mammogram and abnormality for qc.csv.
    fallback_id = df["image_csv_path"].map(path_subject, na_action="ignore") + "_" + df["abnormality_id"].fillna("?")
    df["case_id"] = df["crop_csv_path"].map(path_subject, na_action="ignore").fillna(fallback_id)
    for column in ("pathology", "breast", "view"):
        df[column] = df[column].str.upper()
    df["abnormality_id"] = pd.to_numeric(df["abnormality_id"], errors="coerce").astype("Int64")

    has_paths = df[list(PATH_COLUMNS)].notna().all(axis=1)
    for row in df.loc[~has_paths].itertuples():
        qc.drop(source_file, row.source_row, row.case_id, NO_FILE, "an image, crop or mask path cell is empty")
    df = df.loc[has_paths]

    known = df["pathology"].isin(list(LABEL_OF_PATHOLOGY))
    for row in df.loc[~known].itertuples():
        qc.drop(source_file, row.source_row, row.case_id, UNKNOWN_PATHOLOGY,
                f"pathology '{row.pathology}' is not one of {sorted(LABEL_OF_PATHOLOGY)}")
    df = df.loc[known].copy()
    df["label"] = df["pathology"].map(LABEL_OF_PATHOLOGY).astype(int)

    for column in (c for c in FILLED_COLUMNS if c in df.columns):
        for row in df.loc[df[column].isna()].itertuples():
            qc.repair(source_file, row.source_row, row.case_id, FILLED, f"{column} was empty, set to {FILL_VALUE}")
        df[column] = df[column].fillna(FILL_VALUE)
    return df


def read_case_tables(csv_dir: Path, abnormality: str, qc: QCLog) -> pd.DataFrame:
    """The normalised case CSVs in ``csv_dir`` that ``dataset.abnormality`` names, duplicates dropped."""
    parts = []
    for kind in ABNORMALITIES[abnormality]:
        for split in SOURCE_SPLITS:
            path = Path(csv_dir) / CASE_CSV_FILES[(kind, split)]
            parts.append(normalise_case_table(read_case_csv(path, kind), split, path, qc))
    return drop_duplicate_cases(pd.concat(parts, ignore_index=True), qc)


def locate_all(cases: pd.DataFrame, locate, threads: int) -> list:
    """``locate(case)`` for every row, in parallel (file reads release the GIL); a CaseProblem is returned, not raised,
    so the caller can report problems in CSV order and "stop" names the first bad row whatever finished first."""

    def attempt(case):
        try:
            return locate(case)
        except CaseProblem as problem:
            return problem

    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(attempt, cases.itertuples()))


def drop_duplicate_cases(cases: pd.DataFrame, qc: QCLog) -> pd.DataFrame:
    """Keep the first row of each case_id; later copies are recorded and dropped (never a stop: nothing is lost)."""
    duplicated = cases["case_id"].duplicated()
    for row in cases.loc[duplicated].itertuples():
        qc.repair(row.source_file, row.source_row, row.case_id, DUPLICATE, "same case_id as an earlier row; dropped")
    return cases.loc[~duplicated].reset_index(drop=True)


def finish_case_table(cases: pd.DataFrame) -> pd.DataFrame:
    """Canonical column order: the contract's columns first, then the descriptive ones this dataset has."""
    extra = [c for c in DESCRIPTIVE_COLUMNS if c in cases.columns]
    return cases[list(CASE_COLUMNS) + extra].reset_index(drop=True)


def check_classes(cases: pd.DataFrame, root) -> None:
    """Both classes must survive ingestion, or no classifier can be trained."""
    for label, name in enumerate(CLASS_NAMES):
        if not (cases["label"] == label).any():
            raise DataError(
                root,
                f"no {name} cases left after ingestion ({len(cases)} cases in all); "
                "see results/data/qc.csv for dropped rows and check dataset.root and dataset.abnormality",
            )


def summarise(cases: pd.DataFrame, qc: pd.DataFrame) -> pd.DataFrame:
    """Counts per pathology x source split (and in all), then QC rows per action and reason."""
    rows = []
    for (pathology, split), n in cases.groupby(["pathology", "source_split"], dropna=False).size().items():
        rows.append(("pathology", pathology, split, n))
    for pathology, n in cases["pathology"].value_counts().sort_index().items():
        rows.append(("pathology", pathology, "all", n))
    for (action, reason), n in qc.groupby(["action", "reason"]).size().items():
        rows.append(("qc", f"{action}: {reason}", "all", n))
    rows.append(("cases", "total", "all", len(cases)))
    return pd.DataFrame(rows, columns=["kind", "value", "source_split", "count"])
