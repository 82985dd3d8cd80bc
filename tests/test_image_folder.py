"""dataset.name: image-folder: a user's own class folders (PNG 8/16-bit, JPEG, TIFF, DICOM) and optional manifest.

Unit tests of the adapter (synthaug.datasets.image_folder), of the parse-time checks (synthaug.preflight) and of the
readers it added (TIFF, DICOM without a suffix, colour DICOM); workflow tests run snakemake on a read-only fixture
dated older than the workflow, as test_data_safety does for CBIS-DDSM, and check it is byte-identical afterwards.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
import yaml
from fixtures.external import write_external
from fixtures.image_folder import MAPPING, write_image_folder, write_manifest
from test_data_safety import OLD, assert_wrote_only_its_folders, dry_run_error, fingerprint, make_read_only

from synthaug import preflight
from synthaug.constants import CASE_COLUMNS, QC_COLUMNS
from synthaug.datasets import image_folder, load_cases, tables
from synthaug.errors import ConfigError, DataError, UserError
from synthaug.imageio import read_pixels
from synthaug.preprocess import preprocess_files
from synthaug.split import shared_patients, split_cases
from workflow_helpers import TINY, prepare_workdir, snakemake


def config(root, **overrides):
    return {"name": "image-folder", "root": str(root), "classes": MAPPING, "abnormality": "mass", "image": "crop",
            "on_error": "stop", **overrides}


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    return root, write_image_folder(root)


# --- readers -----------------------------------------------------------------------------------------------------

def test_every_format_is_read_as_one_grey_image_in_its_own_depth(folder):
    root, files = folder
    dtypes = {info["format"]: read_pixels(info["path"]).dtype for info in files.values()}
    assert dtypes == {"png8": np.uint8, "png16": np.uint16, "jpeg": np.uint8, "dcm": np.uint16,
                      "dicom_no_suffix": np.uint16, "tiff16": np.uint16}
    for info in files.values():
        pixels = read_pixels(info["path"])
        assert pixels.ndim == 2 and pixels.std() > 0
    png16 = next(i["path"] for i in files.values() if i["format"] == "png16")
    assert read_pixels(png16).max() > 255  # 16 bits kept, not cut to 8
    images = preprocess_files([str(i["path"]) for i in files.values()], size=32, blur_kernel=5)
    assert images.shape == (len(files), 32, 32, 3) and images.min() >= 0 and images.max() <= 1
    assert np.array_equal(images[..., 0], images[..., 2])  # colour made grey, then 3 identical channels


def test_a_dicom_is_found_by_its_marker_and_a_colour_one_is_unreadable(tmp_path):
    rgb = np.zeros((6, 5, 3), np.uint8)
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 6, 5, 3, "RGB"
    ds.PlanarConfiguration, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 0, 8, 8, 7, 0
    ds.PixelData = rgb.tobytes()
    path = tmp_path / "1.2.840.113619.2.55"  # a UID name: its "suffix" is .55, yet it is read as a DICOM
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(DataError, match="a colour DICOM: export it as PNG or JPEG"):
        read_pixels(path)


# --- the adapter -------------------------------------------------------------------------------------------------

def test_a_manifest_gives_the_contract_table_with_its_patients(folder):
    root, files = folder
    cases, qc = load_cases(config(root), threads=2)
    assert list(cases.columns[: len(CASE_COLUMNS)]) == list(CASE_COLUMNS)
    assert len(cases) == len(files) and qc.empty
    for case in cases.itertuples():
        info = files[case.case_id]
        assert case.pathology == info["class"] and case.label == info["label"]
        assert case.patient_id == info["patient_id"]
        assert case.image_path == case.crop_path == info["path"].as_posix()
        assert case.breast == case.view == case.abnormality_type == case.mask_path == case.source_split == ""
    assert set(cases.groupby("pathology")["label"].first().items()) == {("keratosis", 0), ("nevus", 0),
                                                                        ("melanoma", 1)}


def test_without_a_manifest_each_image_is_its_own_patient(tmp_path):
    root = tmp_path / "data"
    files = write_image_folder(root, manifest=False)
    cases, _ = load_cases(config(root))
    assert sorted(cases["case_id"]) == sorted(files) and (cases["patient_id"] == cases["case_id"]).all()


def test_two_folders_without_a_mapping_are_used_in_sorted_order_and_the_log_says_so(tmp_path, caplog):
    root = tmp_path / "data"
    write_image_folder(root, n_patients=6, manifest=False, classes={"yes": 1, "no": 0})
    with caplog.at_level(logging.INFO, logger="synthaug"):
        cases, _ = load_cases(config(root, classes=None))
    assert dict(cases.groupby("pathology")["label"].first()) == {"no": 0, "yes": 1}
    assert "sorted order" in caplog.text and "negative (label 0) = no" in caplog.text


def test_unmapped_folders_and_stray_files_are_ignored_and_listed_even_with_on_error_stop(folder):
    root, files = folder
    (root / "other").mkdir()
    cv2.imwrite(str(root / "other" / "x.png"), np.zeros((8, 8), np.uint8))
    (root / "README.txt").write_text("my notes")
    (root / "nevus" / ".DS_Store").write_bytes(b"\x00")  # hidden: not even listed
    (root / "nevus" / "unlisted.png").write_bytes((root / next(iter(files))).read_bytes())
    cases, qc = load_cases(config(root))
    assert len(cases) == len(files)
    assert list(qc.columns) == list(QC_COLUMNS) and (qc["action"] == tables.IGNORED).all()
    reasons = dict(zip(qc["case_id"], qc["reason"]))
    assert reasons == {"other/": image_folder.CLASS_NOT_MAPPED, "README.txt": image_folder.NOT_IN_CLASS_FOLDER,
                       "nevus/unlisted.png": image_folder.NOT_IN_MANIFEST}


def corrupt(root, files):
    path = root / "melanoma" / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    write_manifest(root, files, rows=[["melanoma/broken.png", "melanoma", "P900"]])
    return path, tables.UNREADABLE


def missing_file(root, files):
    write_manifest(root, files, rows=[["melanoma/gone.png", "melanoma", "P900"]])
    return root / "melanoma" / "gone.png", tables.NO_FILE


def unknown_label(root, files):
    write_manifest(root, files, rows=[[next(iter(files)), "mole", "P900"]])
    return root / "manifest.csv", image_folder.UNKNOWN_LABEL


def wrong_folder(root, files):
    case_id = next(c for c, i in files.items() if i["class"] == "nevus")
    rows = [[c, "melanoma" if c == case_id else i["class"], i["patient_id"]] for c, i in files.items()]
    with open(root / "manifest.csv", "w") as fh:
        fh.write("path,label,patient_id\n" + "".join(",".join(r) + "\n" for r in rows))
    return root / "manifest.csv", image_folder.LABEL_MISMATCH


def outside_root(root, files):
    write_manifest(root, files, rows=[["../elsewhere/x.png", "melanoma", "P900"]])
    return root / "manifest.csv", image_folder.OUTSIDE_ROOT


def text_file(root, files):
    (root / "melanoma" / "notes.txt").write_text("not an image")
    write_manifest(root, files, rows=[["melanoma/notes.txt", "melanoma", "P900"]])
    return root / "melanoma" / "notes.txt", image_folder.UNKNOWN_EXTENSION


@pytest.mark.parametrize("damage", [corrupt, missing_file, unknown_label, wrong_folder, outside_root, text_file])
def test_a_bad_file_or_row_stops_naming_it_or_is_dropped_into_qc(folder, damage):
    root, files = folder
    at_fault, reason = damage(root, files)
    with pytest.raises(DataError, match=reason) as error:
        load_cases(config(root))
    assert error.value.path == str(at_fault) and "dataset.on_error: skip" in str(error.value)
    cases, qc = load_cases(config(root, on_error="skip"))
    dropped = qc.loc[qc["action"] == tables.DROPPED]
    assert list(dropped["reason"]) == [reason]
    assert len(cases) + (damage is wrong_folder) == len(files)


def test_a_corrupt_image_without_a_manifest_is_dropped_too(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, manifest=False)
    (root / "nevus" / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    with pytest.raises(DataError, match="unreadable image for nevus/cut.jpg"):
        load_cases(config(root))
    _, qc = load_cases(config(root, on_error="skip"))
    assert qc.set_index("case_id").loc["nevus/cut.jpg", "reason"] == tables.UNREADABLE


def test_a_side_left_empty_stops_naming_its_folders(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, manifest=False)
    for path in (root / "melanoma").rglob("*"):
        if path.is_file():
            path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="positive side .class folder.s. melanoma") as error:
        load_cases(config(root, on_error="skip"))
    assert "dataset.classes" in str(error.value)


def with_split(split_of):
    return {"split": lambda case_id, info: split_of(info)}


def test_a_manifest_split_is_kept_by_the_official_strategy(tmp_path):
    root = tmp_path / "data"
    split_of = lambda info: ("train", "train", "val", "test")[int(info["patient_id"][1:]) // 2 % 4]  # both sides
    write_image_folder(root, n_patients=16, extra_columns=with_split(split_of))
    cases, _ = load_cases(config(root))
    assert set(cases["source_split"]) == {"train", "val", "test"}
    split = split_cases(cases, "official", 0, 0.1, 0.3)
    assert (split["split"].to_numpy() == cases["source_split"].to_numpy()).all()
    assert shared_patients(split) == 0
    grouped = split_cases(cases, "grouped", 0, 0.2, 0.3)  # the manifest's split is only used by official
    assert shared_patients(grouped) == 0


def test_a_manifest_split_that_puts_a_patient_in_two_splits_stops(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, extra_columns={"split": lambda case_id, info: "test" if "batch" in case_id else "train"})
    with pytest.raises(DataError, match="more than one split") as error:
        load_cases(config(root))
    assert error.value.path == str(root / "manifest.csv")


def test_a_blank_patient_id_makes_the_image_its_own_patient(folder):
    root, files = folder
    first = next(iter(files))
    rows = [[c, i["class"], "" if c == first else i["patient_id"]] for c, i in files.items()]
    with open(root / "manifest.csv", "w") as fh:
        fh.write("path,label,patient_id\n" + "".join(",".join(r) + "\n" for r in rows))
    cases, qc = load_cases(config(root))
    assert cases.set_index("case_id").loc[first, "patient_id"] == first
    assert list(qc["reason"]) == [image_folder.OWN_PATIENT] and list(qc["action"]) == [tables.REPAIRED]


def test_the_summary_figure_shows_the_class_folders(folder, tmp_path):
    from synthaug.plots.common import save_figure
    from synthaug.plots.data import dataset_summary

    root, files = folder
    cases, qc = load_cases(config(root))
    figure = dataset_summary(cases)
    pie, bars = figure.axes
    # The pie's wedges are the three class folders, sized by their images; the bars count them per split.
    wedges = {t.get_text() for t in pie.texts} & {"keratosis", "nevus", "melanoma"}
    assert wedges == {"keratosis", "nevus", "melanoma"} and pie.get_title() == f"Class folder of {len(files)} images"
    assert not {"benign", "malignant"} & {t.get_text().lower() for t in pie.texts}
    legend = [t.get_text() for t in bars.get_legend().get_texts()]
    assert sorted(legend) == ["keratosis", "melanoma", "nevus"]
    heights = sum(rect.get_height() for rect in bars.patches)
    assert heights == len(files)
    save_figure(figure, tmp_path / "summary.png")
    summary = tables.summarise(cases, qc)
    assert set(summary.loc[summary["kind"] == "pathology", "value"]) == {"keratosis", "nevus", "melanoma"}


# --- parse-time checks (synthaug.preflight) ------------------------------------------------------------------------

def inputs(root, split_strategy="grouped", **overrides):
    return preflight.dataset_inputs(config(root, **overrides), workdir=root.parent / "work",
                                    split_strategy=split_strategy)


def test_the_inputs_are_the_used_class_folders_and_the_manifest(folder):
    root, _ = folder
    (root / "other").mkdir()
    assert inputs(root) == [str(root / f) for f in ("keratosis", "nevus", "melanoma", "manifest.csv")]


def make_more_folders(root):
    (root / "other").mkdir()
    (root / "other" / "a.png").write_bytes(b"x")


@pytest.mark.parametrize("change, overrides, key, expected", [
    (None, {"classes": {"negative": ["nevus", "keratoses"], "positive": ["melanoma"]}}, "dataset.classes",
     "did you mean 'keratosis' for 'keratoses'?"),
    (None, {"classes": {"nevus": ["nevus"], "moles": ["nevus", "melanoma"]}}, "dataset.classes",
     "in more than one class"),
    (None, {"classes": {"negative": ["nevus"], "positive": ["nevus", "melanoma"]}}, "dataset.classes",
     "on both sides"),
    (lambda root: [p.unlink() for p in sorted((root / "melanoma").rglob("*"), reverse=True) if p.is_file()],
     {}, "dataset.root", "melanoma' holds no files"),
    (lambda root: (root / "manifest.csv").write_text("file,class\n"), {}, "dataset.root", "no path or label column"),
    (None, {"image": "full"}, "dataset.image", "used whole"),
])
def test_layout_mistakes_stop_at_parse_time_naming_the_key(folder, change, overrides, key, expected):
    root, _ = folder
    if change:
        change(root)
    with pytest.raises(ConfigError, match=expected) as error:
        inputs(root, **overrides)
    assert error.value.key == key


def test_a_root_without_class_folders_or_with_one_stops(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(ConfigError, match="holds no class folders"):
        inputs(root)
    (root / "only").mkdir()
    with pytest.raises(ConfigError, match="one class folder"):
        inputs(root, classes=None)
    with pytest.raises(ConfigError, match="does not exist"):
        inputs(tmp_path / "nowhere")


def test_official_needs_a_manifest_split_column(folder):
    root, _ = folder
    with pytest.raises(ConfigError, match="no manifest.csv with a 'split' column") as error:
        inputs(root, split_strategy="official")
    assert error.value.key == "split.strategy"


def test_the_schema_takes_image_folder_and_a_mapping(tmp_path):
    schema = Path(preflight.__file__).parents[1] / "schemas" / "config.schema.yaml"
    good = {"dataset": {"name": "image-folder", "root": "x", "classes": MAPPING}}
    preflight.check_schema(good, schema, [])
    bad = {"dataset": {"name": "image-folder", "root": "x", "classes": {"negative": [], "positive": ["a"]}}}
    with pytest.raises(UserError, match="dataset.classes"):  # a message, not any exception that mentions the key
        preflight.check_schema(bad, schema, [])


# --- the workflow on a read-only fixture ---------------------------------------------------------------------------

def write_read_only_folder(root: Path) -> dict:
    """The fixture with a corrupt image listed in its manifest and a stray text file, dated 2017, read-only."""
    files = write_image_folder(root, n_patients=30)  # 20 training images after the reserve: a GAN batch (16)
    (root / "melanoma" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (root / "nevus" / "notes.txt").write_text("my notes")
    write_manifest(root, files, rows=[["melanoma/broken.png", "melanoma", "P900"]])
    for path in [*root.rglob("*"), root]:
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    make_read_only(root)
    return files


def overlay(tmp_path: Path, root: Path, **dataset) -> Path:
    path = tmp_path / "image-folder.yaml"
    content = {"dataset": {"name": "image-folder", "root": str(root), "classes": MAPPING, "on_error": "skip",
                           **dataset},
               "experiment": {"arms": ["baseline"]}, "classifier": {"epochs": 1},
               "split": {"val_fraction": 0.2, "test_fraction": 0.3}}
    path.write_text(yaml.safe_dump(content))
    return path


# The design on an image folder, with an external set beside cgan (issue 20's "done when"). Every arm kind with both
# generators runs on the phantom (the tiny run; tests/test_external.py adds the external set to a copy of it); here
# the arms that reach what only an image folder has: its sides' names, its reserve (more_real: the positive control
# and the oracle, issue 25) and the external set's images of its geometry. The plan has both generators (their
# files are named by the class folders); the run trains the external set's arms only: a cgan trained on an image
# folder, sampled, assessed and through its arms runs in tests/test_kclass_workflow.py (three classes, an external
# set beside it), and nothing of a cgan depends on how class folders were mapped to its labels. That saves a GAN
# training, its sampling and assessment and one classifier (about 30 CPU s).
ARMS = ["baseline", "synthetic", "more_real"]
RUN_GENERATORS = ["mysynth"]


@pytest.mark.workflow
def test_the_workflow_runs_an_image_folder_with_an_external_set_and_leaves_both_untouched(tmp_path):
    """Ingest, split, preprocess, an external set (class folders named as the dataset's) assessed and through the
    synthetic arm against its controls, the positive control, the summary; cgan beside it in the plan; the dataset
    and the set stay byte-identical."""
    root = tmp_path / "data"
    files = write_read_only_folder(root)
    synthetic = write_external(tmp_path / "mysynth", n_per_class=30, classes=("nevus", "melanoma"))
    for path in [*synthetic.rglob("*"), synthetic]:
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    make_read_only(synthetic)
    before, before_set = fingerprint(root), fingerprint(synthetic)
    workdir = prepare_workdir(tmp_path / "work")
    design = tmp_path / "design.yaml"
    design.write_text(yaml.safe_dump({
        # The default reserve (0.35) holds back 12 of the fixture's 32 training images; more_real-r0.5 draws 10.
        "experiment": {"arms": ARMS, "generators": ["cgan", "mysynth"], "train_fractions": []},
        "external": {"mysynth": {"root": str(synthetic)}},
    }))
    planned = (TINY, overlay(tmp_path, root), design)
    proc = snakemake(workdir, "--dry-run", "--summary", configfiles=planned)
    outputs = [line.split("\t")[0] for line in proc.stdout.splitlines()[1:] if "\t" in line]
    # The sides are named by their class folders in file names too (issue 27), never benign / malignant.
    assert {f"results/synthetic/{g}/i0/grid_{side}.png" for g in ("cgan", "mysynth")
            for side in ("keratosis+nevus", "melanoma")} <= set(outputs)
    assert not any("benign" in o or "malignant" in o for o in outputs)
    assert outputs and all(not Path(workdir, o).resolve().is_relative_to(p.resolve())
                           for o in outputs for p in (root, synthetic))

    run = tmp_path / "run.yaml"
    run.write_text(yaml.safe_dump({"experiment": {"generators": RUN_GENERATORS}}))
    config_files = (*planned, run)
    snakemake(workdir, configfiles=config_files)
    assert fingerprint(root) == before and fingerprint(synthetic) == before_set
    assert_wrote_only_its_folders(workdir)
    cases = pd.read_csv(workdir / "results/data/cases.csv", dtype={"case_id": str, "patient_id": str})
    assert sorted(cases["case_id"]) == sorted(files)
    split = pd.read_csv(workdir / "results/data/split.csv", dtype=str)
    assert shared_patients(split) == 0 and set(split["split"]) == {"train", "val", "test", "reserve"}
    qc = pd.read_csv(workdir / "results/data/qc.csv", dtype=str).set_index("case_id")
    assert qc.loc["melanoma/broken.png", "reason"] == tables.UNREADABLE
    assert qc.loc["nevus/notes.txt", "reason"] == image_folder.NOT_IN_MANIFEST
    log = (workdir / "logs/ingest_cases.log").read_text()
    assert "negative (label 0) = keratosis, nevus" in log and "label 1, melanoma" in log
    assert "0 = keratosis+nevus, 1 = melanoma" in (workdir / "logs/split_cases.log").read_text()
    counts = json.loads((workdir / "results/synthetic/counts.json").read_text())
    assert set(counts["per_class"]) == {"keratosis+nevus", "melanoma"}
    for generator in RUN_GENERATORS:
        quality = json.loads((workdir / "results/synthetic" / generator / "quality.json").read_text())
        assert quality["generator"] == generator and quality["memorisation"]["verdict"]
    assert not (workdir / "results/gan").exists() and not (workdir / "logs/train_generator").exists()  # nothing trains
    assert "preprocessed as the real images" in (workdir / "logs/synthesize_images/mysynth/i0.log").read_text()
    metrics = pd.read_csv(workdir / "results/summary/metrics.csv", keep_default_na=False)
    comparison = pd.read_csv(workdir / "results/summary/comparison.csv", keep_default_na=False)  # n/a is a verdict
    against = set(zip(comparison["arm"], comparison["control"]))
    for g in RUN_GENERATORS:
        assert set(metrics.loc[metrics["generator"] == g, "arm"]) == {f"synthetic-{g}-r0.5"}
        assert {(f"synthetic-{g}-r0.5", "baseline"),
                (f"synthetic-{g}-r0.5", "more_real-r0.5")} <= against  # the oracle, from the reserve
    assert ("more_real-r0.5", "baseline") in against  # the positive control, from the reserve
    assert comparison["role"].iloc[0] == "positive_control"
    assert set(comparison["verdict"]) <= {"helps", "hurts", "equivalent", "inconclusive", "n/a"}
    # Commands that touch or delete outputs never reach the user's files (they are no rule's output).
    snakemake(workdir, "--touch", "results/data/split.csv", configfiles=config_files)
    snakemake(workdir, "--delete-all-output", configfiles=config_files)
    assert not (workdir / "results/data/cases.csv").exists()
    assert fingerprint(root) == before and fingerprint(synthetic) == before_set


@pytest.mark.workflow
@pytest.mark.parametrize("classes, expected", [
    ({"negative": ["nevus"], "positive": ["melanomas"]}, "'melanomas', not a class folder"),
    ({"nevus": ["nevus"], "melanoma": ["melanoma", "nevus"]}, "in more than one class"),
])
def test_a_bad_mapping_stops_a_dry_run_naming_dataset_classes(tmp_path, classes, expected):
    root = tmp_path / "data"
    write_image_folder(root, n_patients=6)
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    out = dry_run_error(workdir, overlay(tmp_path, root, classes=classes))
    assert "dataset.classes" in out and expected in out
    assert len(out.splitlines()) < 15
    assert fingerprint(root) == before


# --- odd inputs named (issue 27) -------------------------------------------------------------------------------------

def test_a_truncated_jpeg_and_an_empty_file_are_named_in_qc_with_the_advice_said_once(tmp_path):
    root = tmp_path / "data"
    files = write_image_folder(root, manifest=False)
    jpeg = next(info["path"] for info in files.values() if info["format"] == "jpeg")
    jpeg.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size * 2 // 3])
    (root / "nevus" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError) as error:
        load_cases(config(root))
    message = str(error.value)
    assert message.count("on_error") == 1 and "re-download" not in message
    cases, qc = load_cases(config(root, on_error="skip"))
    detail = qc.set_index("case_id")["detail"]
    assert "truncated JPEG" in detail[jpeg.relative_to(root).as_posix()]
    assert "empty file (0 bytes)" in detail["nevus/empty.png"]
    assert "on_error" not in detail["nevus/empty.png"]  # the advice is the QC log's, said once
    assert len(cases) == len(files) - 1


def test_an_image_without_read_permission_is_named_in_qc_not_dropped_silently(tmp_path, monkeypatch):
    import builtins

    from synthaug import imageio

    root = tmp_path / "data"
    files = write_image_folder(root, manifest=False)
    locked = next(iter(files.values()))["path"]

    def denied(file, *args, **kwargs):
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(imageio, "open", denied, raising=False)
    with pytest.raises(DataError, match="no permission to read"):
        load_cases(config(root))
    _, qc = load_cases(config(root, on_error="skip"))
    row = qc.set_index("case_id").loc[locked.relative_to(root).as_posix()]
    assert row["action"] == tables.DROPPED and "no permission to read" in row["detail"]
    assert "re-download" not in row["detail"]


def test_a_manifest_header_with_spaces_is_read_as_the_dry_run_reads_it(folder):
    root, files = folder
    text = (root / "manifest.csv").read_text().splitlines()
    text[0] = " path , label , patient_id"
    (root / "manifest.csv").write_text("\n".join(text) + "\n")
    inputs(root)  # the dry run's check passes...
    cases, _ = load_cases(config(root))  # ...and so does ingestion
    assert len(cases) == len(files)


def test_symlinks_are_recorded_and_links_out_of_root_are_not_read(tmp_path):
    root = tmp_path / "data"
    files = write_image_folder(root, manifest=False)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    image = next(iter(files.values()))["path"]
    target = outside / ("secret" + image.suffix)
    target.write_bytes(image.read_bytes())
    (root / "nevus" / ("link" + image.suffix)).symlink_to(target)  # a file linked from outside the root
    (root / "nevus" / "inside_link.png").symlink_to(root / next(iter(files)))  # a link inside the root: read
    (root / "melanoma" / "more").symlink_to(outside, target_is_directory=True)  # a linked folder
    cases, qc = load_cases(config(root))
    by_case = qc.set_index("case_id")
    assert by_case.loc["nevus/link" + image.suffix, "reason"] == image_folder.LINK_OUTSIDE_ROOT
    assert by_case.loc["melanoma/more/", "reason"] == image_folder.LINKED_FOLDER
    assert "nevus/link" + image.suffix not in set(cases["case_id"])
    assert "nevus/inside_link.png" in set(cases["case_id"])
    # With a manifest, a row that leads out of the root through a link is dropped, naming it.
    write_manifest(root, files, rows=[["melanoma/more/secret" + image.suffix, "melanoma", "P900"]])
    with pytest.raises(DataError, match=image_folder.LINK_OUTSIDE_ROOT):
        load_cases(config(root))


def test_a_patient_in_two_classes_is_named_in_a_warning(folder, caplog):
    root, files = folder
    positive = next(c for c, info in files.items() if info["label"] == 1)
    negative_patient = next(info["patient_id"] for info in files.values() if info["label"] == 0)
    shifted = {c: ({**info, "patient_id": negative_patient} if c == positive else info) for c, info in files.items()}
    write_manifest(root, shifted)
    with caplog.at_level(logging.INFO, logger="synthaug"):
        load_cases(config(root))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("both sides" in m and f"'{negative_patient}'" in m for m in warnings)


def test_a_manifest_split_column_that_will_be_ignored_is_a_warning(tmp_path, caplog):
    root = tmp_path / "data"
    write_image_folder(root, extra_columns={"split": lambda case_id, info: "train"})
    with caplog.at_level(logging.INFO, logger="synthaug"):
        inputs(root, split_strategy="grouped")
    assert any(r.levelno == logging.WARNING and "'split' column" in r.getMessage() and "official" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="synthaug"):
        inputs(root, split_strategy="official")
    assert not caplog.records


def test_no_manifest_and_sides_from_sorted_folders_are_warnings(tmp_path, caplog):
    root = tmp_path / "data"
    write_image_folder(root, n_patients=6, manifest=False, classes={"yes": 1, "no": 0})
    with caplog.at_level(logging.INFO, logger="synthaug"):
        load_cases(config(root, classes=None))
    warnings = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "sorted order" in warnings and "its own patient" in warnings


def test_the_sides_are_named_by_their_class_folders_in_counts_and_figures():
    from synthaug.generators import class_names
    from synthaug.plots.gan import samples_grid
    from synthaug.synthesize import check_counts

    dataset = config("unused")
    names = class_names(dataset)
    assert names == ("keratosis+nevus", "melanoma")
    assert class_names({"name": "phantom"}) == ("benign", "malignant")
    plan = check_counts(["baseline", "synthetic-cgan-r1.0"], 1.0, "auto", "train", np.array([0, 0, 1]), {}, names=names)
    assert plan["per_class"] == {"keratosis+nevus": 2, "melanoma": 1}
    figure = samples_grid({1: np.zeros((2, 2, 8, 8, 3))}, names)
    texts = " ".join(t.get_text() for ax in figure.axes for t in [ax.yaxis.label, ax.title, *ax.texts])
    assert "melanoma" in texts and "keratosis+nevus" in texts and "malignant" not in texts


def test_a_class_folder_that_is_itself_a_link_is_read(tmp_path):
    """Linking a whole class folder in from elsewhere is the user's choice: its images are read, without qc rows."""
    root = tmp_path / "data"
    files = write_image_folder(root, manifest=False)
    (root / "melanoma").rename(tmp_path / "melanoma_elsewhere")
    (root / "melanoma").symlink_to(tmp_path / "melanoma_elsewhere", target_is_directory=True)
    cases, qc = load_cases(config(root))
    assert sorted(cases["case_id"]) == sorted(files) and qc.empty
