"""Shared test setup: import synthaug from workflow/ without installing it, select the Keras backend, group tests for
the two pytest-xdist workers, and run the tiny workflow once per session for every test that needs its results.

The tiny run is shared by both workers through a file lock (:func:`tiny_run`): the first worker that needs it builds
it while the other, if it needs it too, waits; so the tests that read it (or copy it, to derive a run of their own)
spread over both workers instead of queueing on one.

The backend is ``KERAS_BACKEND`` if set, else the first installed of tensorflow, jax, torch; it is chosen
before any test imports Keras (one backend per process), and the tiny workflow runs on it too.
"""

import fcntl
import importlib.util
import os
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


# The slowest modules, slowest first (wall on a 2-core machine, most of it Snakemake runs): --dist loadgroup hands
# out whole modules in collection order, so these start first and the many short modules fill the gaps at the end
# (longest first; by pytest-xdist's default, fewest tests last, the slowest single-test modules ran last and one
# worker idled while the other finished them). test_generators builds the tiny run that the later tiny-run modules
# copy; the next three need none of it, so the other worker does not wait for it.
SLOWEST_FIRST = (
    "test_generators.py", "test_kclass_workflow.py", "test_backends.py", "test_data_safety.py", "test_image_folder.py",
    "test_looks.py", "test_tune_workflow.py", "test_generator_seeds.py", "test_external.py", "test_slurm.py",
    "test_calibration.py", "test_cgan.py", "test_kclass_stats.py", "test_train.py", "test_transfer.py",
    "test_learning.py", "test_pretrain.py", "test_tune.py", "test_workflow.py", "test_preemption.py",
)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker hook reads the marks (pyproject.toml: why pytest < 9.2)
def pytest_collection_modifyitems(items):
    """Groups for ``--dist loadgroup`` (pytest-xdist): a module's tests run on one worker, so its module fixtures are
    built once (the tiny run is shared across workers by :func:`tiny_run` itself); the modules of
    :data:`SLOWEST_FIRST` first, in its order, the others after them as collected."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FIRST)))  # stable: collection order within


def session_folder(tmp_path_factory) -> Path:
    """A folder of this test session that every pytest-xdist worker sees: the parent of the workers' own base
    folders (``pytest-N/popen-gwK``), or, without workers, the session's base folder itself (its parent is shared
    by every session)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole tiny experiment (tests/configs/tiny.yaml), run once per session locally on the test backend, whatever
    the number of workers; tests only read it (or copy it: ``cp -a`` keeps the mtimes, so nothing reruns there).

    Built under an exclusive lock on a file of the session's shared folder: the worker that takes the lock first
    builds it, the other waits and then finds it done. A failed build is recorded, so the other worker reports the
    same failure at once instead of building it again.
    """
    from workflow_helpers import prepare_workdir, snakemake

    shared = session_folder(tmp_path_factory)
    workdir, done, failed = shared / "tiny_run", shared / "tiny_run.done", shared / "tiny_run.failed"
    with open(shared / "tiny_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if this worker dies
        if failed.exists():
            raise RuntimeError(f"the tiny run failed on the other worker:\n{failed.read_text()}")
        if not done.exists():
            try:
                snakemake(prepare_workdir(workdir))
            except BaseException as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise
            done.write_text("built\n")
    return workdir
