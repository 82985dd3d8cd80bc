"""Shared test setup: import synthaug from workflow/ without installing it, keep TensorFlow quiet, and run the
tiny workflow once per session for every test that needs its results."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole tiny experiment (tests/configs/tiny.yaml), run once locally; tests only read it."""
    from workflow_helpers import prepare_workdir, snakemake

    workdir = prepare_workdir(tmp_path_factory.mktemp("tiny"))
    snakemake(workdir)
    return workdir
