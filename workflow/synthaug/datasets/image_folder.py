"""A user's own labelled images: ``root/<class>/**/<image>``, optionally described by ``root/manifest.csv``.

The conventions of torchvision's ImageFolder, Keras' image_dataset_from_directory and Hugging Face's imagefolder:

* every visible subfolder of root is a class folder; images may sit at any depth below it. Formats: PNG (8 and 16
  bit), JPEG, TIFF and DICOM (``.dcm``/``.dicom``, or any other name if the file carries DICOM's ``DICM`` marker);
  grey or colour (made grey by :mod:`synthaug.imageio`); any size (preprocessing pads to a square).
  Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) are skipped without a word;
* ``dataset.classes`` maps class folders to the two sides, or to k named classes
  (:func:`synthaug.preflight.resolve_classes`, the same rule that stopped a bad mapping when the workflow was parsed);
  folders in no class are ignored (one qc.csv row each); without it every class folder is a class;
* without a manifest, every image file of a used class folder is a case and **its own patient**;
* with ``manifest.csv`` (columns ``path`` relative to root, ``label`` a class folder name, optional ``patient_id``
  and ``split``), the manifest's rows are the cases: ``patient_id`` groups images for the split (a blank cell: the
  image is its own patient, recorded as a repair) and ``split`` (train/val/test) is the source split that
  ``split.strategy: official`` keeps. Image files of used class folders that the manifest does not list are ignored
  (one qc.csv row each).

Every candidate image is decoded once here, so a corrupt file becomes a qc.csv row (or a stop, with
``dataset.on_error: stop``) rather than a failure in preprocessing. What goes where in the canonical case table:
``case_id`` = the image's path relative to root (unique, readable), ``pathology`` = its class folder, ``label`` from
the mapping, ``source_split`` = the manifest's split or empty, ``image_path`` = ``crop_path`` = the image,
``breast``, ``view``, ``abnormality_id``, ``abnormality_type`` and ``mask_path`` empty (they have no meaning here).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath

import pandas as pd

from ..constants import DIGITS_MARKER, IMAGE_FOLDER_MANIFEST, MANIFEST_COLUMNS, MANIFEST_PATIENT, MANIFEST_SPLIT, SPLITS
from ..errors import DataError
from ..imageio import DICOM_SUFFIXES, RASTER_SUFFIXES, is_dicom_file, read_pixels, without_advice
from ..io import read_csv
from ..preflight import ClassMap, is_hidden, resolve_classes
from . import tables
from .tables import CaseProblem

log = logging.getLogger("synthaug")

# QC reasons of this layout (besides tables.NO_FILE, tables.UNREADABLE and tables.DUPLICATE).
UNKNOWN_EXTENSION = "unknown extension"
CLASS_NOT_MAPPED = "class folder not in dataset.classes"
NOT_IN_CLASS_FOLDER = "not in a class folder"
NOT_IN_MANIFEST = "not in manifest.csv"
OUTSIDE_ROOT = "path outside dataset.root"
UNKNOWN_LABEL = "label not a class folder"
LABEL_MISMATCH = "label disagrees with its folder"
UNKNOWN_SPLIT = "unknown split value"
OWN_PATIENT = "patient_id empty"
LINKED_FOLDER = "symbolic link to a folder"
LINK_OUTSIDE_ROOT = "symbolic link outside dataset.root"


def walk_files(folder: Path, qc: tables.QCLog | None = None, root: Path | None = None) -> list[Path]:
    """Every visible file under ``folder`` (hidden files and folders skipped), in sorted order.

    Symbolic links to folders are not followed (a link can loop, or lead out of dataset.root), and files that are
    symbolic links to a file outside ``root`` are not read: each is one qc.csv row (``qc``) instead.
    """
    found = []
    # Inside: dataset.root, or the class folder itself where that is a link to a folder elsewhere (the user's choice).
    inside = (Path(os.path.realpath(root)), Path(os.path.realpath(folder))) if root is not None else None
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not is_hidden(d))
        for name in [d for d in dirs if os.path.islink(os.path.join(current, d))]:
            dirs.remove(name)
            if qc is not None:
                link = Path(current) / name
                qc.ignore(folder, None, relative(root, link) + "/", LINKED_FOLDER,
                          f"links to {os.path.realpath(link)}: not followed (a link can loop or leave dataset.root); "
                          "copy the folder in its place to use its images")
        for name in sorted(files):
            path = Path(current) / name
            if is_hidden(name):
                continue
            if inside is not None and path.is_symlink() and not _within(path, *inside):
                if qc is not None:
                    qc.ignore(folder, None, relative(root, path), LINK_OUTSIDE_ROOT,
                              f"links to {os.path.realpath(path)}, outside dataset.root: not read (the workflow reads "
                              "only dataset.root); copy the file in its place to use it")
                continue
            found.append(path)
    return found


def _within(path: Path, *real_folders: Path) -> bool:
    """Whether ``path``, its links resolved, lies inside one of ``real_folders`` (themselves resolved)."""
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(folder) for folder in real_folders)


def is_image_file(path: Path) -> bool:
    """A format this layout reads: by suffix, or (any other name) by the DICOM marker."""
    suffix = path.suffix.lower()
    return suffix in RASTER_SUFFIXES or suffix in DICOM_SUFFIXES or is_dicom_file(path)


def check_image(path: Path) -> None:
    """Decode the image once (read_pixels also checks it is one grey or colour frame); a CaseProblem if it cannot."""
    try:
        pixels = read_pixels(path)
    except DataError as exc:
        raise CaseProblem(tables.UNREADABLE, exc.path, without_advice(str(exc))) from exc
    if pixels.size == 0:
        raise CaseProblem(tables.UNREADABLE, path, f"{path}: the image has no pixels")


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def folder_rows(root: Path, mapping: ClassMap, qc: tables.QCLog) -> pd.DataFrame:
    """Without a manifest: one row per image file of the used class folders (other files ignored in qc)."""
    rows = []
    for folder in mapping.used:
        for path in walk_files(root / folder, qc, root):
            case_id = relative(root, path)
            if not is_image_file(path):
                qc.ignore(root / folder, None, case_id, UNKNOWN_EXTENSION,
                          f"'{path.suffix or 'no suffix'}' is not PNG, JPEG, TIFF or DICOM (and no DICOM marker)")
                continue
            rows.append({"case_id": case_id, "patient_id": case_id, "pathology": folder, "source_split": "",
                         "path": path, "source_file": folder, "source_row": None})
    return pd.DataFrame(rows, columns=["case_id", "patient_id", "pathology", "source_split", "path",
                                       "source_file", "source_row"])


def manifest_path(cell: str) -> PurePosixPath | None:
    """A manifest's ``path`` cell as a relative path inside root (either slash), or None if it leaves root."""
    path = PurePosixPath(cell.strip().replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return path


def manifest_rows(root: Path, manifest: Path, mapping: ClassMap, qc: tables.QCLog) -> pd.DataFrame:
    """With a manifest: one row per usable manifest row; bad rows dropped (or a stop) through ``qc``."""
    # Spaces around the header's names are dropped, as the parse-time check (preflight.manifest_columns) drops them.
    table = read_csv(manifest, required=MANIFEST_COLUMNS, strip_header=True, dtype=str, keep_default_na=False,
                     encoding="utf-8-sig")
    has_patient, has_split = MANIFEST_PATIENT in table.columns, MANIFEST_SPLIT in table.columns
    folders = {*mapping.used, *mapping.ignored}
    rows = []
    for number, record in enumerate(table.to_dict("records"), start=1):
        cell, label = record["path"].strip(), record["label"].strip()
        case_id = cell.replace("\\", "/") or f"row {number}"
        rel = manifest_path(cell) if cell else None
        if rel is None:
            reason, detail = (tables.NO_FILE, "the path cell is empty") if not cell else (
                OUTSIDE_ROOT, f"'{cell}' must be a path relative to dataset.root, inside it")
            qc.drop(manifest, number, case_id, reason, detail)
            continue
        case_id = rel.as_posix()
        if label not in folders:
            qc.drop(manifest, number, case_id, UNKNOWN_LABEL,
                    f"label '{label}' is not one of the class folders {sorted(folders)}")
            continue
        if label in mapping.ignored:
            continue  # its folder is listed once in qc.csv as not in dataset.classes
        if rel.parts[0] != label:
            qc.drop(manifest, number, case_id, LABEL_MISMATCH,
                    f"label '{label}' but the file lies in the class folder '{rel.parts[0]}'; fix one of them")
            continue
        path = root.joinpath(*rel.parts)
        if not _within(path, Path(os.path.realpath(root)), Path(os.path.realpath(root / rel.parts[0]))):
            qc.drop(manifest, number, case_id, LINK_OUTSIDE_ROOT,
                    f"'{cell}' leads through a symbolic link to {os.path.realpath(path)}, outside dataset.root (the "
                    "workflow reads only dataset.root); copy the file in its place", path)
            continue
        if not path.is_file():
            qc.drop(manifest, number, case_id, tables.NO_FILE, f"the manifest names {path}, which does not exist",
                    path)
            continue
        if not is_image_file(path):
            qc.drop(manifest, number, case_id, UNKNOWN_EXTENSION,
                    f"'{path.suffix or 'no suffix'}' is not PNG, JPEG, TIFF or DICOM (and no DICOM marker)", path)
            continue
        split = record[MANIFEST_SPLIT].strip().lower() if has_split else ""
        if has_split and split not in SPLITS:
            qc.drop(manifest, number, case_id, UNKNOWN_SPLIT,
                    f"split '{record[MANIFEST_SPLIT]}' is not one of {', '.join(SPLITS)}")
            continue
        patient = record[MANIFEST_PATIENT].strip() if has_patient else ""
        if has_patient and not patient:
            qc.repair(manifest, number, case_id, OWN_PATIENT, "the image is its own patient")
        rows.append({"case_id": case_id, "patient_id": patient or case_id, "pathology": label, "source_split": split,
                     "path": path, "source_file": IMAGE_FOLDER_MANIFEST, "source_row": number})
    cases = pd.DataFrame(rows, columns=["case_id", "patient_id", "pathology", "source_split", "path",
                                        "source_file", "source_row"])
    cases = tables.drop_duplicate_cases(cases, qc)
    listed = set(cases["case_id"])
    for folder in mapping.used:
        for path in walk_files(root / folder, qc, root):
            if relative(root, path) not in listed:
                qc.ignore(root / folder, None, relative(root, path), NOT_IN_MANIFEST, f"not listed in {manifest}")
    return cases


def check_split_by_patient(cases: pd.DataFrame, manifest: Path) -> None:
    """A manifest's fixed split must keep each patient in one split (else its test set leaks patients)."""
    named = cases.loc[cases["source_split"] != ""]
    splits = named.groupby("patient_id")["source_split"].nunique()
    leaking = sorted(splits.index[splits > 1])
    if leaking:
        raise DataError(
            manifest,
            f"{len(leaking)} patient(s) have images in more than one split of the '{MANIFEST_SPLIT}' column, e.g. "
            f"'{leaking[0]}', so a test set made from it would hold images of training patients. Put each patient's "
            f"images in one split, or remove the '{MANIFEST_SPLIT}' column and use split.strategy: grouped.",
        )


def warn_patients_on_both_sides(cases: pd.DataFrame, manifest: Path) -> None:
    """A WARNING naming the patients with images on both sides: possible (a benign and a malignant lesion), but also
    what a patient_id column shifted by a row, or ids reused across classes, look like."""
    sides = cases.groupby("patient_id")["label"].nunique()
    both = sorted(sides.index[sides > 1])
    if both:
        log.warning("%d patient(s) of %s have images on both sides, e.g. %s: fine if they have both kinds of "
                    "lesion, else check the %s column (each patient's images stay in one split either way)",
                    len(both), manifest, ", ".join(f"'{p}'" for p in both[:5]), MANIFEST_PATIENT)


def check_sides(cases: pd.DataFrame, mapping: ClassMap, root: Path) -> None:
    """Every class (both sides of a binary one) must keep images after ingestion, or no classifier can be trained."""
    names = mapping.class_names()
    for label, folders in enumerate(mapping.groups):
        if not (cases["label"] == label).any():
            side = f"{('negative', 'positive')[label]} side" if mapping.n_classes == 2 and not mapping.names else (
                f"class '{names[label]}'")
            raise DataError(
                root,
                f"no usable images left on the {side} (class folder(s) {', '.join(folders)}) after ingestion "
                f"({len(cases)} images in all); see results/data/qc.csv for what was dropped and why, and check "
                "dataset.classes",
            )


def load_cases(dataset: dict, threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The canonical case table and the QC table of an image-folder dataset (see the module docstring)."""
    root = Path(dataset["root"])
    mapping = resolve_classes(root, dataset.get("classes"))
    if mapping.from_config:
        log.info("class folders from dataset.classes: %s", mapping.describe())
    else:
        if mapping.n_classes == 2:
            log.warning("no dataset.classes: the two class folders taken in sorted order, %s; if the positive side is "
                        "the other one, set dataset.classes", mapping.describe())
        else:
            log.warning("no dataset.classes: every class folder is a class, in sorted order: %s", mapping.describe())
    qc = tables.QCLog(dataset["on_error"])
    for folder in mapping.ignored:
        n = len(walk_files(root / folder))
        qc.ignore(root / folder, None, folder + "/", CLASS_NOT_MAPPED, f"{n} file(s) not used")
        log.warning("class folder '%s' (%d files) is in no class of dataset.classes: not used", folder, n)
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        # (the digits export's marker is the workflow's own file, not a stray image)
        if entry.is_file() and not is_hidden(entry.name) and entry.name not in (IMAGE_FOLDER_MANIFEST, DIGITS_MARKER):
            qc.ignore(root, None, entry.name, NOT_IN_CLASS_FOLDER, "a file directly in dataset.root; not used")

    manifest = root / IMAGE_FOLDER_MANIFEST
    if manifest.is_file():
        cases = manifest_rows(root, manifest, mapping, qc)
        log.info("read %d usable rows of %s", len(cases), manifest)
    else:
        cases = folder_rows(root, mapping, qc)
        log.warning("found %d image files under the class folders of %s and no %s: each image is taken as its own "
                    "patient, so images of one patient can land in both training and test and flatter the scores; "
                    "add a %s with a %s column to keep each patient in one split", len(cases), root,
                    IMAGE_FOLDER_MANIFEST, IMAGE_FOLDER_MANIFEST, MANIFEST_PATIENT)

    checked = tables.locate_all(cases, lambda case: check_image(case.path), threads)
    for case, problem in zip(cases.itertuples(), checked):  # in file order, so "stop" names the first bad image
        if isinstance(problem, CaseProblem):
            listed = case.source_file == IMAGE_FOLDER_MANIFEST
            qc.drop(manifest if listed else root / case.source_file, case.source_row if listed else None,
                    case.case_id, problem.reason, problem.detail, problem.path)
    cases = cases.loc[[not isinstance(p, CaseProblem) for p in checked]].copy()
    if manifest.is_file():
        check_split_by_patient(cases, manifest)

    cases["label"] = cases["pathology"].map(mapping.label).astype(int)
    warn_patients_on_both_sides(cases, manifest)
    cases["image_path"] = cases["crop_path"] = [p.as_posix() for p in cases["path"]]
    for column in ("breast", "view", "abnormality_type", "mask_path"):
        cases[column] = ""
    cases["abnormality_id"] = pd.array([pd.NA] * len(cases), dtype="Int64")
    check_sides(cases, mapping, root)
    dropped = qc.table()["action"].value_counts()
    if len(dropped):
        log.warning("qc.csv: %s", ", ".join(f"{n} {action}" for action, n in dropped.items()))
    return tables.finish_case_table(cases), qc.table()
