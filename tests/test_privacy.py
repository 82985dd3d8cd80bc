"""No identifying header value reaches the workflow's outputs or logs.

CBIS-DDSM is de-identified, but a user's own DICOMs (or a re-distribution's ``dicom_info.csv``) may not be. The
readers take only what they need (PatientID as the TCIA subject, series UIDs, pixel data), so names, birth dates,
institutions and accession numbers must not appear in cases.csv, qc.csv, the summary, the npz bundles or the log.
"""

import importlib.util
import logging

import numpy as np
import pandas as pd
import pydicom
import pytest
from fixtures.cbis import write_cbis
from fixtures.kaggle import write_kaggle

from conftest import REPO
from synthaug.datasets import kaggle

IDENTIFIERS = {
    "PatientName": "DOE^JANE",
    "PatientBirthDate": "19610704",
    "PatientAddress": "12 ELM STREET SPRINGFIELD",
    "OtherPatientIDs": "MRN4711SECRET",
    "InstitutionName": "ST ELSEWHERE HOSPITAL",
    "ReferringPhysicianName": "HOUSE^GREGORY",
    "AccessionNumber": "ACC998877",
}


class Smk(dict):
    """Enough of Snakemake's ``snakemake`` object for a rule script's ``main``: attribute and key access."""

    __getattr__ = dict.__getitem__


def script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "workflow" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_data_rules(dataset, out):
    """ingest_cases, split_cases and preprocess_images, as Snakemake would run them, into ``out``."""
    data = {k: out / f for k, f in [("cases", "cases.csv"), ("qc", "qc.csv"), ("summary", "dataset_summary.csv"),
                                    ("figure", "summary.png"), ("split", "split.csv")]}
    bundles = {name: out / f"{name}.npz" for name in ("train", "val", "test")}
    sides = ("benign", "malignant")
    script("ingest_cases").main(Smk(params=Smk(dataset=dataset, sides=sides), threads=2, output=Smk(data)))
    script("split_cases").main(Smk(input=Smk(cases=data["cases"]), output=Smk(split=data["split"]), params=Smk(
        split={"strategy": "grouped", "seed": 0, "val_fraction": 0.3, "test_fraction": 0.3}, reserve=0.35,
        sides=sides)))
    script("preprocess_images").main(Smk(
        input=Smk(cases=data["cases"], split=data["split"]), output=Smk(bundles), threads=2,
        params=Smk(preprocess={"image_size": 16, "blur_kernel": 3}, image=dataset["image"])))


def assert_nothing_identifying(out, log_text):
    written = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.suffix for p in written} >= {".csv", ".npz", ".png"}
    for value in IDENTIFIERS.values():
        for part in value.split("^"):
            for path in written:  # numpy stores str arrays as UTF-32, so search that encoding too
                data = path.read_bytes()
                assert part.encode() not in data and part.encode("utf-32-le") not in data, (part, path)
            assert part not in log_text
    for name in ("train", "val", "test"):
        with np.load(out / f"{name}.npz") as bundle:
            assert all(cid.startswith("Mass-") for cid in bundle["case_ids"])


@pytest.mark.parametrize("image", ["crop", "full"])
def test_dicom_headers_do_not_leak(tmp_path, caplog, image):
    files = write_cbis(tmp_path / "data", "csv")
    for paths in files.values():
        for path in set(paths.values()):
            ds = pydicom.dcmread(path)
            for keyword, value in IDENTIFIERS.items():
                setattr(ds, keyword, value)
            ds.save_as(path)
    files["Mass-Test_P_00003_RIGHT_MLO_1"]["crop"].write_bytes(b"corrupt")  # a QC line with a detail
    dataset = {"name": "cbis-ddsm", "root": str(tmp_path / "data"), "abnormality": "mass", "image": image,
               "on_error": "skip"}
    with caplog.at_level(logging.DEBUG, logger="synthaug"):
        run_data_rules(dataset, tmp_path / "out")
    assert len(pd.read_csv(tmp_path / "out" / "qc.csv")) > 0
    assert_nothing_identifying(tmp_path / "out", caplog.text)


def test_kaggle_dicom_info_does_not_leak(tmp_path, caplog):
    write_kaggle(tmp_path / "data")
    path = tmp_path / "data" / "csv" / kaggle.DICOM_INFO
    info = pd.read_csv(path, dtype=str, keep_default_na=False)
    info.assign(**IDENTIFIERS).to_csv(path, index=False)
    dataset = {"name": "cbis-ddsm-kaggle", "root": str(tmp_path / "data"), "abnormality": "mass", "image": "crop",
               "on_error": "skip"}
    with caplog.at_level(logging.DEBUG, logger="synthaug"):
        run_data_rules(dataset, tmp_path / "out")
    assert_nothing_identifying(tmp_path / "out", caplog.text)
