"""Write the embedded phantom dataset in CBIS-DDSM's TCIA layout, as the NBIA Data Retriever downloads it.

Under ``root``: ``CBIS-DDSM/<Subject>/<MM-DD-YYYY>-DDSM-<n>/1.000000-<series description>-<n>/1-<k>.dcm``,
NBIA's ``metadata.csv``, the two mass case CSVs (14 columns, paths in CBIS-DDSM's CSV form) and
``ground_truth.csv`` (theta, p(theta) and the label of every abnormality image; never read by classifiers).
The dataset is written into a temporary folder beside ``root`` and moved into place only when complete.
Each patient is simulated from its own spawned seed, so the dataset does not depend on the number of workers.
"""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

from . import __version__
from .constants import (
    CASE_CSV_FILES,
    GROUND_TRUTH_FILE,
    LABEL_OF_PATHOLOGY,
    MASS_CSV_COLUMNS,
    METADATA_FILE,
    PHANTOM_ENTRIES,
    PHANTOM_IMAGES_DIR,
    PHANTOM_MARKER,
    SERIES_CROP,
    SERIES_FULL,
    SERIES_MASK,
    SUBJECT_PREFIXES,
)
from .dicom_writer import MASK_VALUE, DicomIds, write_dicom
from .errors import DataError
from .io import log, write_csv
from .phantom.cohort import Patient, assessment, csv_margin, csv_shape, draw_patient, subtlety
from .phantom.mammogram import render_mammogram
from .embedded import move_into_place, temporary_sibling
from .preflight import phantom_root_problem

COLLECTION = PHANTOM_IMAGES_DIR
ASPECT = 3144 / 4592  # columns / rows of a typical CBIS-DDSM mammogram
CROP_MARGIN = 0.25  # crops are the mask's bounding box grown by this fraction of its larger side (plus 4 px)
SEPARATE_CROP_SERIES = 0.25  # how often the crop has its own "cropped images" series instead of sharing the mask's
METADATA_COLUMNS = (
    "Series UID", "Collection", "3rd Party Analysis", "Data Description URI", "Subject ID", "Study UID",
    "Study Description", "Study Date", "Series Description", "Manufacturer", "Modality", "SOP Class Name",
    "SOP Class UID", "Number of Images", "File Size", "File Location", "Download Timestamp",
)  # fmt: skip
DATA_DESCRIPTION_URI = "https://doi.org/10.7937/K9/TCIA.2016.7O02S9CY"


@dataclass(frozen=True)
class PatientJob:
    """What a worker needs to simulate and write one patient."""

    number: int
    seed: int
    seed_sequence: np.random.SeedSequence
    rows: int
    contrast: tuple[float, float]
    out: Path


@dataclass
class PatientRecords:
    """Rows a patient contributes to each table (case CSV rows carry their source split)."""

    cases: list
    metadata: list
    truth: list


def simulate_dataset(
    root, *, n_patients: int = 890, seed: int = 0, threads: int = 1, image_rows: int = 240, contrast=(3.0, 6.0),
) -> dict:
    """Simulate ``n_patients`` patients into ``root`` (replacing an earlier phantom there); returns a summary.

    Patient numbers are drawn from 1 to ``2 n_patients``.

    Stops with a DataError before any work if ``root`` holds anything but an earlier phantom.
    """
    root = Path(root)
    problem = phantom_root_problem(root)
    if problem:
        raise DataError(root, f"{problem}; set dataset.root to a new or empty folder")
    root.parent.mkdir(parents=True, exist_ok=True)
    numbers = _patient_numbers(n_patients, seed)
    sequences = np.random.SeedSequence(seed).spawn(n_patients)
    start = time.monotonic()
    tmp = temporary_sibling(root)
    try:
        jobs = [PatientJob(n, seed, s, image_rows, tuple(contrast), tmp) for n, s in zip(numbers, sequences)]
        records = _run(jobs, threads, start)
        summary = _write_tables(records, tmp)
        _write_marker(tmp, {"n_patients": n_patients, "seed": seed, "image_rows": image_rows,
                             "contrast": list(contrast)})
        move_into_place(tmp, root, PHANTOM_ENTRIES, PHANTOM_MARKER, "phantom")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary["seconds"] = round(time.monotonic() - start, 1)
    log.info("phantom written to %s: %s", root, summary)
    return summary


def _patient_numbers(n_patients: int, seed: int) -> list[int]:
    """Patient numbers with gaps, like CBIS-DDSM's P_00001 .. P_02092."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_patients]))
    return sorted(int(n) for n in rng.choice(np.arange(1, 2 * n_patients + 1), n_patients, replace=False))


def _run(jobs: list[PatientJob], threads: int, start: float) -> list[PatientRecords]:
    """Simulate all patients with ``threads`` worker processes, logging progress about ten times."""
    records, images = [], 0
    executor = ProcessPoolExecutor(threads) if threads > 1 else None
    try:
        results = executor.map(simulate_patient, jobs, chunksize=4) if executor else map(simulate_patient, jobs)
        for i, result in enumerate(results, 1):
            records.append(result)
            images += sum(int(row["Number of Images"]) for row in result.metadata)
            if i % max(len(jobs) // 10, 1) == 0 or i == len(jobs):
                elapsed = time.monotonic() - start
                log.info("%d/%d patients, %d DICOM files, %.0f files/s", i, len(jobs), images, images / elapsed)
    finally:
        if executor:
            executor.shutdown(cancel_futures=True)
    return records


def _uid(job: PatientJob, *parts: str) -> str:
    """A UID that depends only on the seed and what it names, so the same seed writes the same dataset."""
    return generate_uid(entropy_srcs=["synthaug-phantom", str(job.seed), *parts])


def _write_series(job: PatientJob, subject: str, study: dict, description: str, images: list, breast, view) -> dict:
    """Write ``images`` as one NBIA series folder of ``subject``; returns its metadata.csv row."""
    series_uid = _uid(job, subject, description)
    folder = Path(COLLECTION, subject, study["folder"], f"1.000000-{description}-{series_uid[-5:]}")
    size = 0
    for k, pixels in enumerate(images, 1):
        ids = DicomIds(subject, study["uid"], series_uid, _uid(job, subject, description, str(k)), description, k,
                       study["date"], breast, view)  # fmt: skip
        path = job.out / folder / f"1-{k}.dcm"
        write_dicom(path, pixels, ids)
        size += path.stat().st_size
    return {
        "Series UID": series_uid, "Collection": COLLECTION, "3rd Party Analysis": "NO",
        "Data Description URI": DATA_DESCRIPTION_URI, "Subject ID": subject, "Study UID": study["uid"],
        "Study Description": "DDSM", "Study Date": study["nbia_date"], "Series Description": description,
        "Manufacturer": "", "Modality": "MG", "SOP Class Name": "Secondary Capture Image Storage",
        "SOP Class UID": SecondaryCaptureImageStorage, "Number of Images": len(images),
        "File Size": f"{size / 1e6:.2f} MB", "File Location": "./" + folder.as_posix(),
        "Download Timestamp": "2024-01-15T12:00:00.000",
    }  # fmt: skip


def _study(job: PatientJob, subject: str, rng: np.random.Generator) -> dict:
    """A subject's study: its UID, its date (CBIS-DDSM's were converted in 2016-2017) and its NBIA folder name."""
    day = np.datetime64("2016-01-01") + int(rng.integers(0, 730))
    yyyy, mm, dd = str(day).split("-")
    uid = _uid(job, subject, "study")
    return {"uid": uid, "date": f"{yyyy}{mm}{dd}", "nbia_date": f"{mm}-{dd}-{yyyy}",
            "folder": f"{mm}-{dd}-{yyyy}-DDSM-{uid[-5:]}"}  # fmt: skip


def _crop_box(mask: np.ndarray):
    """Slices of the mask's bounding box grown by CROP_MARGIN of its larger side plus 4 px, inside the image.

    Never the whole image: readers of CBIS-DDSM tell a crop from its mask by size (a mask is as large as its
    mammogram), so a crop of a mass that fills the image stops one row short of the image's edge farther from it.
    """
    ys, xs = np.nonzero(mask)
    grow = int(CROP_MARGIN * max(np.ptp(ys), np.ptp(xs))) + 4
    top, bottom = max(ys.min() - grow, 0), min(ys.max() + grow + 1, mask.shape[0])
    left, right = max(xs.min() - grow, 0), min(xs.max() + grow + 1, mask.shape[1])
    if (bottom - top, right - left) == mask.shape:
        top, bottom = (1, bottom) if ys.min() > 0 else (top, bottom - 1)
    return np.s_[top:bottom, left:right]


def _csv_path(subject: str, meta: dict, index: int) -> str:
    return f"{subject}/{meta['Study UID']}/{meta['Series UID']}/{index:06d}.dcm"


def _write_roi(job, roi_subject, full_image, mask, breast, view, rng):
    """Write an abnormality's crop and mask, in one series in random order or in two; returns their CSV paths."""
    study = _study(job, roi_subject, rng)
    crop = full_image[_crop_box(mask)]
    mask_pixels = mask.astype(np.uint8) * MASK_VALUE
    if rng.random() < SEPARATE_CROP_SERIES:
        crop_meta = _write_series(job, roi_subject, study, SERIES_CROP, [crop], breast, view)
        mask_meta = _write_series(job, roi_subject, study, SERIES_MASK, [mask_pixels], breast, view)
        return [crop_meta, mask_meta], _csv_path(roi_subject, crop_meta, 0), _csv_path(roi_subject, mask_meta, 0)
    crop_first = rng.random() < 0.5
    images = [crop, mask_pixels] if crop_first else [mask_pixels, crop]
    meta = _write_series(job, roi_subject, study, SERIES_MASK, images, breast, view)
    crop_index = 0 if crop_first else 1
    return [meta], _csv_path(roi_subject, meta, crop_index), _csv_path(roi_subject, meta, 1 - crop_index)


def simulate_patient(job: PatientJob) -> PatientRecords:
    """Simulate one patient, write all its DICOM files under ``job.out``, and return its table rows."""
    rng = np.random.default_rng(job.seed_sequence)
    patient = draw_patient(job.number, job.rows, job.contrast, rng)
    prefix = SUBJECT_PREFIXES[("mass", patient.source_split)]
    shape = (job.rows, int(round(job.rows * ASPECT)))
    records = PatientRecords([], [], [])
    mammograms = sorted({(f.breast, v) for f in patient.findings for v in f.views})
    for breast, view in mammograms:
        shown = [f for f in patient.findings if f.breast == breast and view in f.views]
        image, masks = render_mammogram(shape, breast, view, patient.density, [f.lesion for f in shown], rng)
        subject = f"{prefix}_{patient.patient_id}_{breast}_{view}"
        full_meta = _write_series(job, subject, _study(job, subject, rng), SERIES_FULL, [image], breast, view)
        records.metadata.append(full_meta)
        for abnormality_id, (finding, mask) in enumerate(zip(shown, masks), 1):
            roi_subject = f"{subject}_{abnormality_id}"
            metas, crop_path, mask_path = _write_roi(job, roi_subject, image, mask, breast, view, rng)
            records.metadata.extend(metas)
            records.cases.append(
                _case_row(patient, finding, view, abnormality_id, _csv_path(subject, full_meta, 0), crop_path,
                          mask_path, job.contrast, rng)  # fmt: skip
            )
            records.truth.append(_truth_row(patient, finding, view, abnormality_id, roi_subject))
    return records


def _case_row(patient: Patient, finding, view, abnormality_id, image_path, crop_path, mask_path, contrast, rng):
    lesion = finding.lesion
    values = (
        patient.patient_id, patient.density, finding.breast, view, abnormality_id, "mass", csv_shape(lesion, rng),
        csv_margin(lesion, rng), assessment(lesion.p_malignant, rng), finding.pathology,
        subtlety(lesion.contrast, contrast, rng), image_path, crop_path, mask_path,
    )  # fmt: skip
    return {"source_split": patient.source_split, **dict(zip(MASS_CSV_COLUMNS, values))}


def _truth_row(patient: Patient, finding, view, abnormality_id, case_id) -> dict:
    lesion = finding.lesion
    return {
        "case_id": case_id, "patient_id": patient.patient_id, "breast": finding.breast, "view": view,
        "abnormality_id": abnormality_id, "lesion_id": finding.lesion_id, "source_split": patient.source_split,
        "margin": lesion.margin, "shape": lesion.shape, "severity": lesion.severity, "harmonics": lesion.harmonics,
        "sigma2": lesion.sigma2, "edge_blur": lesion.edge_blur, "aspect": lesion.aspect,
        "n_spicules": lesion.n_spicules,
        "n_calcifications": len(lesion.calcifications), "radius_px": lesion.radius_px, "contrast": lesion.contrast,
        "p_malignant": lesion.p_malignant, "label": LABEL_OF_PATHOLOGY[finding.pathology],
        "pathology": finding.pathology,
    }  # fmt: skip


def _write_tables(records: list[PatientRecords], out: Path) -> dict:
    """Write the two mass CSVs, metadata.csv and ground_truth.csv into ``out``; returns counts for the log."""
    cases = pd.DataFrame([row for r in records for row in r.cases])
    for split in ("train", "test"):
        rows = cases[cases["source_split"] == split] if len(cases) else cases
        write_csv(rows.reindex(columns=MASS_CSV_COLUMNS), out / CASE_CSV_FILES[("mass", split)])
    metadata = pd.DataFrame([row for r in records for row in r.metadata], columns=METADATA_COLUMNS)
    write_csv(metadata, out / METADATA_FILE)
    truth = pd.DataFrame([row for r in records for row in r.truth])
    write_csv(truth, out / GROUND_TRUTH_FILE)
    return {
        "patients": len(records),
        "abnormality_images": len(truth),
        "dicom_files": int(metadata["Number of Images"].sum()),
        "train_rows": int((cases["source_split"] == "train").sum()),
        "test_rows": int((cases["source_split"] == "test").sum()),
        "pathology": truth["pathology"].value_counts().to_dict(),
    }


def _write_marker(out: Path, settings: dict) -> None:
    """The file that names a folder as a phantom synthaug wrote (the only kind it will ever replace)."""
    text = json.dumps({"written_by": "synthaug simulate_phantom", "version": __version__, **settings}, indent=2)
    (out / PHANTOM_MARKER).write_text(text + "\n")
