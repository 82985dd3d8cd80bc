"""Shared test setup: import synthaug from workflow/ without installing it, select the Keras backend, group tests for
the two pytest-xdist workers, and run the tiny workflow once per session for every test that needs its results.

The backend is ``KERAS_BACKEND`` if set, else the first installed of tensorflow, jax, torch; it is chosen
before any test imports Keras (one backend per process), and the tiny workflow runs on it too.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

sys.path.insert(0, str(REPO / "tests"))

from synthaug.backends import use_backend  # noqa: E402
from workflow_helpers import session_backend  # noqa: E402

TEST_BACKEND = session_backend()
if TEST_BACKEND and importlib.util.find_spec("keras"):
    use_backend(TEST_BACKEND, quiet=False)  # pytest captures stderr itself


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker hook reads the marks (pyproject.toml: why pytest < 9.2)
def pytest_collection_modifyitems(items):
    """Groups for ``--dist loadgroup`` (pytest-xdist): a module's tests run on one worker, so its module fixtures are
    built once; every test that reads the session's tiny run joins one group, so the tiny run is built once."""
    for item in items:
        group = "tiny_run" if "tiny_run" in item.fixturenames else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole tiny experiment (tests/configs/tiny.yaml), run once locally on the test backend; tests only read it."""
    from workflow_helpers import prepare_workdir, snakemake

    workdir = prepare_workdir(tmp_path_factory.mktemp("tiny"))
    snakemake(workdir)
    return workdir
