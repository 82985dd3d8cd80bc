"""The user's dataset is read-only input: the workflow, run as users run it, never creates, changes or deletes a file
under a real ``dataset.root``, and config mistakes stop before any job with a message naming the key.

Fixture downloads are written outside the working directory and dated 2017, older than every file of the
workflow, as a real download is (a fixture newer than the checkout would hide a rule that "updates" it). Their
folders are made read-only (``chmod -R a-w``); tests run as root in CI, where permissions do not stop a write, so
every test also compares a checksum, size and modification time of every file and folder before and after.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures.cbis import write_cbis
from fixtures.kaggle import write_kaggle

from workflow_helpers import TINY, planned_jobs, prepare_workdir, snakemake

pytestmark = pytest.mark.workflow

OLD = 1_500_000_000  # 2017-07-14: a download older than the workflow's own files
WRITTEN_BY_THE_WORKFLOW = {"results", "logs", "benchmarks", ".snakemake"}  # + config.yaml, copied in by the test
N_PATIENTS = 24


def write_download(root: Path, layout: str) -> Path:
    """A CBIS-DDSM download in ``layout`` (nbia | csv | kaggle), dated 2017 and made read-only."""
    if layout == "kaggle":
        write_kaggle(root, n_patients=N_PATIENTS)
    else:
        write_cbis(root, layout=layout, n_patients=N_PATIENTS)
    for path in [*root.rglob("*"), root]:
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    make_read_only(root)
    return root


def make_read_only(root: Path) -> None:
    for path in sorted([root, *root.rglob("*")], key=lambda p: -len(p.parts)):  # children first keeps mtimes
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def fingerprint(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root``: (kind, size, mtime, sha256 of the content)."""
    out = {}
    for path in sorted([root, *root.rglob("*")]):
        info = path.lstat()
        if path.is_dir():
            out[str(path.relative_to(root))] = ("dir", info.st_mtime_ns, stat.S_IMODE(info.st_mode))
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[str(path.relative_to(root))] = ("file", info.st_size, info.st_mtime_ns, digest)
    return out


def overlay(tmp_path: Path, root: Path, layout: str, experiment=None, **dataset) -> Path:
    """A config layered on tests/configs/tiny.yaml that points the workflow at the download."""
    name = "cbis-ddsm-kaggle" if layout == "kaggle" else "cbis-ddsm"
    path = tmp_path / f"dataset-{layout}.yaml"
    content = {"dataset": {"name": name, "root": str(root), **dataset}, **({"experiment": experiment} if experiment else {})}
    path.write_text(yaml.safe_dump(content))
    return path


def assert_wrote_only_its_folders(workdir: Path) -> None:
    assert {p.name for p in workdir.iterdir()} <= WRITTEN_BY_THE_WORKFLOW | {"config.yaml"}


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    """One read-only download per layout, shared by the tests of this module (they only read it)."""
    base = tmp_path_factory.mktemp("downloads")
    return {layout: write_download(base / layout, layout) for layout in ("nbia", "csv", "kaggle")}


@pytest.mark.parametrize("layout", ["nbia", "csv", "kaggle"])
def test_no_rule_writes_under_a_real_dataset_root(tmp_path, downloads, layout):
    """simulate_phantom is not in the DAG, and no job of the whole experiment has an output under dataset.root."""
    root = downloads[layout]
    workdir = prepare_workdir(tmp_path / "work")
    config = (TINY, overlay(tmp_path, root, layout))
    jobs = planned_jobs(workdir, "results/data/cases.csv", configfiles=config)
    assert "ingest_cases" in jobs and "simulate_phantom" not in jobs
    # The whole experiment: every output of its DAG, with the rule that writes it.
    proc = snakemake(workdir, "--dry-run", "--summary", configfiles=config)
    rows = [line.split("\t") for line in proc.stdout.splitlines()[1:] if "\t" in line]
    outputs, rules = [row[0] for row in rows], {row[2] for row in rows}
    assert "ingest_cases" in rules and "simulate_phantom" not in rules
    assert outputs and all(not Path(workdir, o).resolve().is_relative_to(root.resolve()) for o in outputs)


def test_tiny_experiment_on_a_read_only_download_leaves_it_untouched(tmp_path, downloads):
    """The NBIA layout (with metadata.csv) end to end to table.md; then the commands that delete or touch outputs."""
    root = downloads["nbia"]
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    # One arm keeps it short: every rule that reads the download runs (the GAN, the other arms and the learning
    # curve read results/ only; the read-only image-folder test runs them beside a read-only dataset too,
    # tests/test_image_folder.py).
    config = (TINY, overlay(tmp_path, root, "nbia", experiment={"arms": ["baseline"], "train_fractions": []}))
    snakemake(workdir, "results/summary/table.md", configfiles=config)
    assert (workdir / "results/summary/table.md").is_file()
    assert fingerprint(root) == before
    assert_wrote_only_its_folders(workdir)
    # Commands that delete, touch or force outputs never reach the user's files (they are no rule's output).
    snakemake(workdir, "--forcerun", "ingest_cases", "--until", "ingest_cases", configfiles=config)
    snakemake(workdir, "--touch", "results/summary/table.md", configfiles=config)
    snakemake(workdir, "--delete-all-output", configfiles=config)
    assert not (workdir / "results/data/cases.csv").exists()
    assert fingerprint(root) == before
    assert_wrote_only_its_folders(workdir)


def test_the_reserve_is_split_and_preprocessed_from_a_read_only_download_left_untouched(tmp_path, downloads):
    """The reserve (experiment.reserve, issue 25): held back from the training patients of a real download, checked
    and preprocessed for the more_real arms; the download stays byte-identical."""
    root = downloads["csv"]
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    snakemake(workdir, "results/oracle/train.npz", "results/oracle/counts.json",
              configfiles=(TINY, overlay(tmp_path, root, "csv")))
    split = pd.read_csv(workdir / "results/data/split.csv", dtype=str)
    held = split.loc[split["split"] == "reserve"]
    assert len(held) and not set(held["patient_id"]) & set(split.loc[split["split"] != "reserve", "patient_id"])
    with np.load(workdir / "results/oracle/train.npz") as reserve:
        assert reserve["case_ids"].tolist() == held["case_id"].tolist()
    assert fingerprint(root) == before
    assert_wrote_only_its_folders(workdir)


@pytest.mark.parametrize("layout, image", [("csv", "full"), ("kaggle", "crop"), ("kaggle", "full")])
def test_other_layouts_train_from_a_read_only_download(tmp_path, downloads, layout, image):
    """Ingest and preprocessing from each reader and image mode, and one training (from the csv reader's arrays: a
    training reads the same arrays whatever wrote them, so the others stop there); the download stays as it was."""
    root = downloads[layout]
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    model = "results/classifiers/baseline/simple_cnn/seed0/model.keras"
    arrays = [f"results/data/{split}.npz" for split in ("train", "val", "test")]
    snakemake(workdir, *(arrays + [model] if layout == "csv" else arrays),
              configfiles=(TINY, overlay(tmp_path, root, layout, image=image)))
    split = pd.read_csv(workdir / "results/data/split.csv", dtype=str)
    for name in ("train", "val", "test"):
        with np.load(workdir / f"results/data/{name}.npz") as data:
            images, labels, case_ids = data["images"], data["labels"], data["case_ids"]
        assert images.shape == (len(labels), 32, 32, 3) and 0.0 <= images.min() and images.max() <= 1.0
        assert set(np.unique(labels)) == {0, 1} and images.std() > 1e-3
        assert sorted(case_ids.tolist()) == sorted(split.loc[split["split"] == name, "case_id"])
    assert (workdir / model).is_file() == (layout == "csv")
    assert fingerprint(root) == before
    assert_wrote_only_its_folders(workdir)


# --- stops at parse time, before any job -------------------------------------------------------------------------

def dry_run_error(workdir: Path, *configfiles: Path) -> str:
    proc = snakemake(workdir, "--dry-run", configfiles=(TINY, *configfiles), check=False)
    assert proc.returncode != 0
    assert "Job stats" not in proc.stdout + proc.stderr  # stopped before a DAG was planned
    return proc.stdout + proc.stderr


def write_yaml(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


@pytest.mark.parametrize("name, files", [
    ("cbis-ddsm", {}),
    ("cbis-ddsm", {"mass_case_description_train_set.csv": "patient_id\n"}),
    ("cbis-ddsm-kaggle", {"csv/mass_case_description_train_set.csv": "x\n"}),
])
def test_a_root_without_the_case_tables_stops_naming_them(tmp_path, name, files):
    root = tmp_path / "download"
    root.mkdir()
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    out = dry_run_error(workdir, write_yaml(tmp_path / "c.yaml", {"dataset": {"name": name, "root": str(root)}}))
    assert "dataset.root" in out and "mass_case_description_test_set.csv" in out
    assert fingerprint(root) == before


def test_phantom_root_pointed_at_a_download_stops_and_touches_nothing(tmp_path, downloads):
    """A folder with the phantom's file names but no marker (a real download) is never replaced by a phantom."""
    root = downloads["nbia"]
    before = fingerprint(root)
    workdir = prepare_workdir(tmp_path / "work")
    out = dry_run_error(workdir, write_yaml(tmp_path / "c.yaml", {"dataset": {"name": "phantom", "root": str(root)}}))
    assert "dataset.root" in out and "never writes into a folder it did not create" in out
    for args in (("results/data/cases.csv",), ("--forcerun", "simulate_phantom")):
        proc = snakemake(workdir, *args, configfiles=(TINY, tmp_path / "c.yaml"), check=False)
        assert proc.returncode != 0
    assert fingerprint(root) == before
    assert {p.name for p in workdir.iterdir()} <= {"config.yaml", ".snakemake"}


def test_phantom_reruns_only_over_its_own_folder(tiny_run, tmp_path):
    """The tiny run's phantom carries the marker; a stray file in it stops the next run at parse time.

    On a copy: the tiny run is shared by both test workers, and the other may be copying it meanwhile."""
    import subprocess

    workdir = tmp_path / "tiny"
    subprocess.run(["cp", "-a", str(tiny_run), str(workdir)], check=True)  # -a keeps mtimes: nothing to rerun
    root = workdir / "resources/phantom"
    assert (root / "synthaug-phantom.json").is_file()
    planned = planned_jobs(workdir)
    assert "simulate_phantom" not in planned
    (root / "my_notes.txt").write_text("mine")
    proc = snakemake(workdir, "--dry-run", check=False)
    assert proc.returncode != 0 and "my_notes.txt" in proc.stdout + proc.stderr


@pytest.mark.parametrize("content, expected", [
    ({"classifer": {"epochs": 1}}, "did you mean 'classifier'?"),
    ({"preprocess": {"image_sise": 64}}, "did you mean 'preprocess.image_size'?"),
    ({"experiment": {"models": ["inception_resnet_v2"]}}, "needs at least 75 px"),
    ({"preprocess": {"image_size": 40}}, "multiple of 16"),
    ({"experiment": {"reserve": 0.2}}, "'experiment.reserve': 0.2 of the training patients"),
])
def test_config_mistakes_stop_a_dry_run_in_a_few_lines(tmp_path, content, expected):
    workdir = prepare_workdir(tmp_path / "work")
    mistake = write_yaml(tmp_path / "mistake.yaml", content)
    out = dry_run_error(workdir, mistake)
    assert expected in out
    assert len(out.splitlines()) < 15  # not a schema dump
    if "did you mean" in expected:
        assert str(mistake) in out  # the file the key came from
